//! The pre-issuance check catches a to-be-signed certificate that differs from its plan.

use std::sync::Arc;

use signet_domain::identity::{Identity, IdentityInput};
use signet_domain::key::CaKeyAlgorithm;
use signet_domain::plan::PlanRequest;
use signet_domain::profile::{Profile, templates};
use signet_domain::serial::Serial;
use signet_domain::validity::Period;
use signet_pki::PkiError;
use signet_pki::csr::SubscriberKey;
use signet_pki::file_key::FileKey;
use signet_pki::hierarchy::root_certificate;
use signet_pki::issuance::{Issuer, IssuerUrls};
use signet_pki::keys::{CaSigner, KeyBackend};
use signet_pki::name::ca_name;
use signet_pki::precheck::{IssuerFacts, check_tbs};
use spki::der::Decode;

fn serial(n: u8) -> Serial {
    Serial::from_entropy([n; 16])
}

#[test]
fn a_tbs_that_differs_from_its_plan_is_refused() {
    let now = time::OffsetDateTime::now_utc();
    let (root_key, _) = FileKey::generate(CaKeyAlgorithm::EcP384, b"pw").expect("root key");
    let signer = CaSigner::new(Arc::new(root_key)).expect("signer");
    let name = ca_name("BE", "Test", "Test Root").expect("name");
    let der = root_certificate(
        &signer,
        &name,
        &serial(1),
        Period::months_from(now, 12).expect("period"),
    )
    .expect("prepare")
    .issue()
    .expect("sign");
    let urls = IssuerUrls {
        crl_base: "http://pki.example.com/crl/class3".into(),
        crl_shards: 1,
        ca_issuers: "http://pki.example.com/repository/class3.der".into(),
        ocsp: Some("http://pki.example.com/ocsp".into()),
    };
    let issuer = Issuer::new("class3", der, signer, urls).expect("issuer");

    let (subscriber, _) = FileKey::generate(CaKeyAlgorithm::EcP256, b"pw").expect("subscriber key");
    let key = SubscriberKey::from_spki(
        spki::SubjectPublicKeyInfoOwned::from_der(subscriber.public_key_der()).expect("spki"),
    )
    .expect("key policy");
    let identity = Identity::try_from(IdentityInput {
        given_name: "Anna".into(),
        surname: "Peeters".into(),
        email: "anna@example.be".into(),
        organization: "Example NV".into(),
        country: "BE".into(),
        organization_identifier: None,
        organizational_unit: None,
        title: None,
    })
    .expect("identity");
    let profile = Profile::new(
        "class3-auth",
        templates::class3_auth("class3", "1.3.6.1.4.1.32473.1"),
    )
    .expect("profile");
    let plan = profile
        .plan(&PlanRequest {
            identity: &identity,
            key: &key.kind,
            period: Period::months_from(now, 12).expect("period"),
            product_limit: None,
            requested: "12 months".into(),
        })
        .expect("plan");
    let prepared = issuer
        .prepare(&plan, &serial(2), &key)
        .expect("a faithful TBS passes");
    let tbs = prepared.tbs_der().to_vec();
    let facts = IssuerFacts {
        name: issuer.subject(),
        spki: issuer.signer().spki(),
        algorithm: CaKeyAlgorithm::EcP384,
    };

    // The same TBS, checked against plans it does not match.
    let mut other_email = plan.clone();
    other_email.email = "mallory@example.be".into();
    let mut shorter_limit = plan.clone();
    shorter_limit.latest_not_after = plan.period.not_after - time::Duration::days(1);
    let mut other_usage = plan.clone();
    other_usage.key_usage.pop();
    for (bad_plan, serial_used, expected) in [
        (&other_email, serial(2), "subjectAltName"),
        (
            &shorter_limit,
            serial(2),
            "exceeds the product or profile maximum",
        ),
        (&other_usage, serial(2), "keyUsage bits"),
        (&plan, serial(3), "serial differs"),
    ] {
        match check_tbs(&tbs, bad_plan, &serial_used, &key, &facts) {
            Err(PkiError::PreIssuanceCheck(msg)) => assert!(msg.contains(expected), "{msg}"),
            other => panic!("expected a pre-issuance refusal mentioning {expected}, got {other:?}"),
        }
    }
    assert!(check_tbs(&tbs, &plan, &serial(2), &key, &facts).is_ok());
}
