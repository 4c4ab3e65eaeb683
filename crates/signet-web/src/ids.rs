//! Identifiers in request paths, parsed once here into the domain's types (design §6): past this
//! point an order number is an [`OrderNumber`] and a serial a [`Serial`]. A malformed one is
//! answered like one that does not exist: 404.

use std::collections::HashMap;
use std::str::FromStr;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use signet_app::AppError;
use signet_domain::credentials::OrderNumber;
use signet_domain::serial::Serial;

use crate::problem::Problem;

/// Reads an order number as typed (R-ORD-1: any case, O for 0, I and L for 1, dashes anywhere).
pub fn order_number(text: &str) -> Result<OrderNumber, AppError> {
    Ok(OrderNumber::parse(text)?)
}

/// Reads a certificate serial (hex, as Signet or openssl print it).
pub fn serial(text: &str) -> Result<Serial, AppError> {
    Serial::from_str(text).map_err(|_| AppError::NotFound(format!("certificate {text}")))
}

/// The `{name}` segment of the matched route.
async fn segment<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    name: &str,
) -> Result<String, Problem> {
    let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|e| Problem(AppError::NotFound(e.body_text())))?;
    params
        .remove(name)
        .ok_or_else(|| Problem(AppError::Internal(format!("route without {{{name}}}"))))
}

/// The route's `{number}`, as an order number.
#[derive(Debug)]
pub struct OrderPath(pub OrderNumber);

impl<S: Send + Sync> FromRequestParts<S> for OrderPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Ok(OrderPath(order_number(
            &segment(parts, state, "number").await?,
        )?))
    }
}

/// The route's `{serial}`, as a serial.
#[derive(Debug)]
pub struct SerialPath(pub Serial);

impl<S: Send + Sync> FromRequestParts<S> for SerialPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Ok(SerialPath(serial(&segment(parts, state, "serial").await?)?))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn malformed_identifiers_are_not_found() {
        use axum::http::StatusCode;
        let status = |e| crate::problem::status_of(&e);
        assert_eq!(
            status(super::order_number("ABC").unwrap_err()),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(super::serial("XYZ").unwrap_err()),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            super::order_number("abcde fghjk")
                .map(|n| n.to_string())
                .ok(),
            Some("ABCDE-FGHJK".to_owned())
        );
    }
}
