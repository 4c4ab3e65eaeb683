//! The TLS configuration test from the portal and the API (R-AUX-3). Each test is a few dozen
//! connections made on a user's behalf to a server of the user's choosing, so: the address
//! must be one the configuration allows (public only, by default), one test per account at a
//! time, a rate limit per account, short timeouts, and every test audited.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;
use signet_domain::Refusal;
use signet_domain::guard::ACCOUNT_TLS_TESTS;
use signet_domain::role::Actor;
use signet_tls::{AddressPolicy, Endpoint, GuardedFetch, Options, StartTls, Target, TlsTestError};

use crate::AppError;
use crate::issue::Signet;

/// What a user asks to test.
#[derive(Debug, Clone, Default)]
pub struct TlsTestRequest {
    /// `HOST[:PORT]`.
    pub target: String,
    /// The name sent as SNI, when not HOST.
    pub sni: Option<String>,
    /// `smtp`, `imap`, `pop3` or `ldap`.
    pub starttls: Option<String>,
}

/// Timeout of each connection of a portal test.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// The whole test: no connection opens after it and no exchange outlives it.
const TEST_BUDGET: Duration = Duration::from_secs(60);
/// A portal test that takes longer is abandoned; its budget ends it well before.
const TEST_TIMEOUT: Duration = Duration::from_secs(90);

/// Accounts with a test running.
static RUNNING: Mutex<Option<HashSet<i64>>> = Mutex::new(None);

/// Holds an account's turn; gives it back when dropped, however the test ends.
struct Turn(i64);

impl Turn {
    fn take(account: i64) -> Option<Turn> {
        let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        running
            .get_or_insert_with(HashSet::new)
            .insert(account)
            // `then`, not `then_some`: a Turn made and dropped here would take the lock again.
            .then(|| Turn(account))
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(set) = running.as_mut() {
            set.remove(&self.0);
        }
    }
}

impl Signet {
    /// The addresses tests may reach: the configuration, widened by `SIGNET_TLS_TEST_ALLOW`.
    pub fn tls_test_policy(&self) -> AddressPolicy {
        let from_env = std::env::var("SIGNET_TLS_TEST_ALLOW").unwrap_or_default();
        let env_allows = |what: &str| from_env.split(',').any(|w| w.trim() == what);
        AddressPolicy {
            allow_loopback: self.config.tls_test.allow_loopback || env_allows("loopback"),
            allow_private: self.config.tls_test.allow_private || env_allows("private"),
            refuse_own: true,
            also_allowed: Vec::new(),
        }
    }

    /// Runs a TLS configuration test for `actor`; audited, refused or not.
    pub async fn tls_test(
        &self,
        actor: &Actor,
        request: &TlsTestRequest,
    ) -> Result<signet_tls::Report, AppError> {
        let subject = format!("tls-test:{}", request.target.trim());
        let result = self.tls_test_unaudited(actor, request).await;
        let result = self
            .audit_refusal(&actor.email, "tls_test", &subject, result)
            .await?;
        self.audit(
            &actor.email,
            "tls_test.run",
            &subject,
            json!({
                "address": result.address,
                "server_name": result.server_name,
                "starttls": result.starttls,
                "grade": result.grade,
                "connections": result.connections,
            }),
        )
        .await?;
        Ok(result)
    }

    async fn tls_test_unaudited(
        &self,
        actor: &Actor,
        request: &TlsTestRequest,
    ) -> Result<signet_tls::Report, AppError> {
        let invalid = |why: String| AppError::Refused(Refusal::InvalidInput(why));
        let starttls = match request.starttls.as_deref().map(str::trim) {
            None | Some("") | Some("none") => None,
            Some(kind) => Some(StartTls::parse(kind).ok_or_else(|| {
                invalid(format!(
                    "starttls {kind:?} is not one of smtp, imap, pop3, ldap"
                ))
            })?),
        };
        let target =
            Target::parse(&request.target, starttls).map_err(|e| invalid(e.to_string()))?;
        let server_name = match request
            .sni
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(name) => {
                Target::parse(name, None)
                    .map_err(|_| invalid(format!("the SNI name {name:?} is not a DNS name")))?
                    .host
            }
            None => target.host.clone(),
        };
        let Some(_turn) = Turn::take(actor.account) else {
            return Err(AppError::Refused(Refusal::Conflict(
                "a TLS test of yours is still running: wait for its report".into(),
            )));
        };
        self.within(&ACCOUNT_TLS_TESTS, &actor.account.to_string())
            .await?;
        // Two tests at once on the whole server: each opens connections in parallel.
        static TESTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
        let _slot = TESTS
            .acquire()
            .await
            .map_err(|e| AppError::Internal(format!("TLS tests stopped: {e}")))?;
        let policy = self.tls_test_policy();
        let anchors = signet_tls::chain::system_anchors().unwrap_or_default();
        let signet_cas = self
            .authority
            .issuers
            .values()
            .map(|issuer| issuer.certificate.clone())
            .collect();
        let now = self.now();
        let run = tokio::task::spawn_blocking(move || {
            let address = policy.resolve(&target.host, target.port)?;
            let endpoint = Endpoint::new(address, server_name, starttls, CONNECTION_TIMEOUT)
                .with_budget(TEST_BUDGET);
            let fetch = GuardedFetch {
                policy,
                timeout: CONNECTION_TIMEOUT,
            };
            let options = Options {
                anchors,
                signet_cas,
                fetch: Some(&fetch),
                mozilla_profile: "intermediate".into(),
                now,
            };
            signet_tls::run(&endpoint, &options)
        });
        let outcome = tokio::time::timeout(TEST_TIMEOUT, run)
            .await
            .map_err(|_| {
                AppError::Refused(Refusal::InvalidInput(
                    "the server took longer than 90 seconds to test; it may be throttling connections".into(),
                ))
            })?
            .map_err(|e| AppError::Internal(format!("the TLS test stopped: {e}")))?;
        outcome.map_err(|e| match e {
            TlsTestError::Refused(why) => AppError::Refused(Refusal::NotAllowed(format!(
                "this server may not be tested from here: {why}"
            ))),
            other => AppError::Refused(Refusal::InvalidInput(other.to_string())),
        })
    }
}
