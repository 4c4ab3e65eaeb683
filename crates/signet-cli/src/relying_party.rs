//! `signet relying-party`: what a service needs to log people in with this CA's certificates
//! (TLS client authentication) on nginx or Apache httpd. It writes the CA certificates into one
//! file (and, for CRL checking, a script that keeps the CRLs fresh) and prints the configuration
//! snippet that uses them. It reads `signet.toml` and `ca/` only: no key, no database, no
//! passphrase.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use signet_app::AppError;
use signet_app::authority::{issuer_urls, read_certificate, root_urls};
use signet_app::config::{ConfigFile, ROOT};
use signet_domain::crl::CRL_VALIDITY;

/// The help page of `signet relying-party`: what a service operator needs.
pub(crate) const ABOUT: &str = "\
Sets up a service (a web site, an API) to log people in with the certificates this CA issues \
(TLS client authentication), on nginx or Apache httpd.

A service operator needs:
  - the CA certificates: the root and the issuing CAs, in one PEM file that the web server
    trusts for client certificates (and names to browsers, which then offer only certificates
    these CAs issued);
  - the verify depth that a person's certificate, its issuing CA and the root need: nginx
    counts the CAs in between (1), Apache every certificate above the person's (2);
  - revocation checking, one of:
      ocsp: at every log-in the web server asks Signet's OCSP responder, over plain HTTP, about
            the person's certificate. A revocation counts at once; log-ins fail while the
            responder cannot be reached.
      crl:  the web server reads the CRLs of the root and of every shard of every issuing CA
            from one local PEM file, which refresh-crls.sh (curl and openssl) rebuilds; run it
            hourly and reload the web server after it. A revocation counts after the next
            refresh; if the refreshing stops, every log-in is refused once the CRLs in the file
            expire (7 days after Signet signed them).
  - a server certificate of its own, from a CA that browsers trust (Signet certifies people,
    not servers);
  - to know who logged in: the certificate's subject (name, e-mail address, organization), not
    its serial number or key, which change when the certificate is reissued or renewed.

This command reads signet.toml and ca/ of the data directory (no key, no database), writes
signet-client-cas.pem (and, with --revocation crl, refresh-crls.sh) into --out-dir, and prints
the snippet for nginx's server { } block or Apache's <VirtualHost> on standard output:

  signet relying-party nginx --out-dir /etc/nginx/signet > /etc/nginx/snippets/signet-login.conf
  signet relying-party --apache --revocation crl --out-dir /etc/apache2/signet";

/// The web server a snippet is written for.
#[derive(Subcommand, Debug)]
pub(crate) enum WebServer {
    /// nginx 1.19 or later: ssl_verify_client, ssl_client_certificate, ssl_verify_depth, and
    /// ssl_ocsp or ssl_crl.
    #[command(long_flag = "nginx")]
    Nginx(Choices),
    /// Apache httpd 2.4.34 or later (mod_ssl): SSLVerifyClient, SSLCACertificateFile,
    /// SSLVerifyDepth, and SSLOCSPEnable or SSLCARevocationFile.
    #[command(long_flag = "apache")]
    Apache(Choices),
}

/// What the snippet checks and where its files are.
#[derive(Args, Debug)]
pub(crate) struct Choices {
    /// How the web server learns of revocations: `ocsp` asks Signet's responder at every log-in
    /// (counts at once; the responder must be reachable), `crl` reads CRLs from a file that
    /// refresh-crls.sh keeps fresh (counts after the next refresh and reload).
    #[arg(long, value_enum, default_value = "ocsp")]
    revocation: Revocation,
    /// Directory to write signet-client-cas.pem (and refresh-crls.sh) into; created if missing.
    #[arg(long, default_value = "signet-relying-party")]
    out_dir: PathBuf,
    /// Where the web server will read those files, when you copy them to another machine or
    /// directory (an absolute path; default: the absolute path of --out-dir).
    #[arg(long)]
    install_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Revocation {
    Ocsp,
    Crl,
}

/// The CA certificates, for the web server to trust and name to browsers.
const CA_BUNDLE: &str = "signet-client-cas.pem";
/// The CRLs, as refresh-crls.sh writes them.
const CRL_FILE: &str = "signet-crls.pem";
/// The script that rebuilds the CRL file.
const CRL_SCRIPT: &str = "refresh-crls.sh";

/// What a snippet is made of, read from the data directory.
#[derive(Debug)]
struct Ca {
    organization: String,
    root: String,
    /// Where the web server reads the files.
    install_dir: String,
    /// Every CRL a chain needs: the root's, then every shard of every issuing CA.
    crl_urls: Vec<String>,
    /// The responder as the web servers' OCSP clients reach it (plain HTTP).
    ocsp_url: String,
    /// The base URL is https: the responder must answer at `ocsp_url` too.
    ocsp_over_http_too: bool,
}

/// Writes the files and returns the snippet for `server`.
pub(crate) fn run(data_dir: &Path, server: &WebServer) -> Result<String, AppError> {
    let (choices, dialect) = match server {
        WebServer::Nginx(c) => (c, &NGINX),
        WebServer::Apache(c) => (c, &APACHE),
    };
    let config = ConfigFile::load(data_dir)?;
    let out_dir = &choices.out_dir;
    std::fs::create_dir_all(out_dir).map_err(|e| AppError::io(out_dir, e))?;
    let out_dir = out_dir
        .canonicalize()
        .map_err(|e| AppError::io(out_dir, e))?;
    let install_dir = match &choices.install_dir {
        Some(dir) if dir.is_absolute() => dir.clone(),
        Some(dir) => {
            return Err(AppError::Config(format!(
                "--install-dir {}: give an absolute path (the web server reads it from anywhere)",
                dir.display()
            )));
        }
        None => out_dir.clone(),
    };
    let ca = read_ca(data_dir, &config, &install_dir)?;

    let bundle = out_dir.join(CA_BUNDLE);
    std::fs::write(&bundle, ca_bundle(data_dir, &config)?).map_err(|e| AppError::io(&bundle, e))?;
    eprintln!("wrote {}", bundle.display());
    if choices.revocation == Revocation::Crl {
        let script = out_dir.join(CRL_SCRIPT);
        std::fs::write(&script, crl_script(&ca, dialect.reload))
            .map_err(|e| AppError::io(&script, e))?;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| AppError::io(&script, e))?;
        eprintln!(
            "wrote {}: run it before the web server starts, then hourly",
            script.display()
        );
    }
    Ok(snippet(&ca, dialect, choices.revocation))
}

fn read_ca(data_dir: &Path, config: &ConfigFile, install_dir: &Path) -> Result<Ca, AppError> {
    let install_dir = install_dir
        .to_str()
        .filter(|d| !d.chars().any(|c| c == '"' || c == '\\' || c.is_control()))
        .ok_or_else(|| {
            AppError::Config(format!(
                "{}: web server configuration cannot name this path (quotes, backslashes, \
                 control characters or not UTF-8)",
                install_dir.display()
            ))
        })?
        .trim_end_matches('/')
        .to_owned();
    // The URLs go into a shell script and configuration files: nothing that needs quoting.
    let base = &config.base_url;
    if !base
        .chars()
        .all(|c| c.is_ascii_graphic() && !"'\"\\`".contains(c))
    {
        return Err(AppError::Config(format!(
            "base_url `{base}`: characters that a web server configuration or a script cannot \
             carry unquoted"
        )));
    }
    let root = root_urls(config);
    let mut crl_urls: Vec<String> = (0..root.crl_shards).map(|s| root.shard_url(s)).collect();
    for name in config.issuers.keys() {
        let urls = issuer_urls(config, name);
        crl_urls.extend((0..urls.crl_shards).map(|s| urls.shard_url(s)));
    }
    let ocsp = config.ocsp_url();
    let (ocsp_url, ocsp_over_http_too) = match ocsp.strip_prefix("https://") {
        Some(rest) => (format!("http://{rest}"), true),
        None => (ocsp, false),
    };
    // Checked here so that a data directory without its certificates fails before any output.
    read_certificate(data_dir, ROOT)?;
    Ok(Ca {
        organization: one_line(&config.ca.organization),
        root: one_line(&config.root.common_name),
        install_dir,
        crl_urls,
        ocsp_url,
        ocsp_over_http_too,
    })
}

/// A name for a comment line: control characters (line breaks) become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The issuing CAs, then the root, each named in a comment line (which PEM readers skip).
fn ca_bundle(data_dir: &Path, config: &ConfigFile) -> Result<String, AppError> {
    let mut out = String::new();
    let issuers = config
        .issuers
        .iter()
        .map(|(name, i)| (name.as_str(), i.common_name.as_str()));
    for (name, common_name) in issuers.chain([(ROOT, config.root.common_name.as_str())]) {
        let der = read_certificate(data_dir, name)?;
        let _ = write!(
            out,
            "# {} ({name})\n{}",
            one_line(common_name),
            signet_pki::certificate_pem(&der)
        );
    }
    Ok(out)
}

impl Ca {
    fn file(&self, name: &str) -> String {
        format!("\"{}/{name}\"", self.install_dir)
    }
}

/// How a web server spells the same configuration.
#[derive(Debug)]
struct Dialect {
    /// As the subcommand names it.
    command: &'static str,
    /// The web server in prose.
    server: &'static str,
    /// The oldest version that has every directive used.
    version: &'static str,
    /// Where the snippet goes.
    place: &'static str,
    /// What a refused client sees.
    refusal: &'static str,
    /// The directive's terminator.
    end: &'static str,
    verify_client: &'static str,
    ca_file: &'static str,
    /// The verify depth a person's certificate, its issuing CA and the root need, with why.
    depth: &'static str,
    ocsp_leaf: &'static str,
    ocsp_responder: &'static str,
    /// Lines after the responder's.
    ocsp_after: &'static str,
    crl_file: &'static str,
    /// Lines after the CRL file's.
    crl_after: &'static str,
    reload: &'static str,
    /// How the application behind the web server learns who logged in.
    identity: &'static str,
}

const NGINX: Dialect = Dialect {
    command: "nginx",
    server: "nginx",
    version: "nginx 1.19 or later",
    place: "the server { } block that listens with ssl, beside ssl_certificate and
# ssl_certificate_key",
    refusal: "nginx answers the others with 400 (\"No required SSL certificate was sent\",
# \"The SSL certificate error\"); error_page 495 496 shows a page of your own instead.",
    end: ";",
    verify_client: "ssl_verify_client on",
    ca_file: "ssl_client_certificate",
    depth:
        "# The CAs between a person's certificate and the root, as OpenSSL counts: the issuing CA.
ssl_verify_depth 1;",
    ocsp_leaf: "ssl_ocsp leaf",
    ocsp_responder: "ssl_ocsp_responder",
    ocsp_after: "# nginx looks the responder's host up when it starts or reloads. `ssl_ocsp_cache
# shared:signet_ocsp:10m;` would keep each answer until its next update, days later, and a
# revocation would count only then: left off.
",
    crl_file: "ssl_crl",
    crl_after: "",
    reload: "nginx -s reload",
    identity: "#   proxy_set_header X-Client-Verify  $ssl_client_verify;  # SUCCESS
#   proxy_set_header X-Client-Subject $ssl_client_s_dn;
#   proxy_set_header X-Client-Issuer  $ssl_client_i_dn;
",
};

const APACHE: Dialect = Dialect {
    command: "apache",
    server: "Apache",
    version: "Apache httpd 2.4.34 or later",
    place: "the <VirtualHost> with SSLEngine on (mod_ssl), beside SSLCertificateFile and
# SSLCertificateKeyFile",
    refusal: "Apache ends the TLS handshake with the others.",
    end: "",
    verify_client: "SSLVerifyClient require",
    ca_file: "SSLCACertificateFile",
    depth: "# The certificates above a person's, as Apache counts: the issuing CA and the root.
SSLVerifyDepth 2",
    ocsp_leaf: "SSLOCSPEnable leaf",
    ocsp_responder: "SSLOCSPDefaultResponder",
    ocsp_after: "SSLOCSPOverrideResponder on
# Signet's answers are signed ahead (RFC 5019) and carry no nonce; asking for one, Apache's
# default, would refuse every answer.
SSLOCSPUseRequestNonce off
",
    crl_file: "SSLCARevocationFile",
    crl_after: "# `chain`: every certificate of the chain, the root's too, needs a CRL in the file.
SSLCARevocationCheck chain
",
    reload: "apachectl graceful",
    identity:
        "#   SSLOptions +StdEnvVars  # SSL_CLIENT_VERIFY (SUCCESS), SSL_CLIENT_S_DN, SSL_CLIENT_I_DN
#   RequestHeader set X-Client-Subject \"%{SSL_CLIENT_S_DN}s\"  # behind a proxy
",
};

/// The configuration snippet: client certificates required, the CA file, the depth, and
/// revocation checking, each with why.
fn snippet(ca: &Ca, d: &Dialect, revocation: Revocation) -> String {
    let end = d.end;
    let mut s = format!(
        "# Log-in with personal certificates (TLS client authentication) for the CA
#   {root}
# written by `signet relying-party {command} --revocation {rev}`; needs {version}.
# Put it into {place} (the server's own certificate, from a CA that browsers trust).

# Only clients with a certificate that chains to that root through one of its issuing CAs get
# in; {server} names these CAs to browsers, which then offer only certificates they issued.
# {refusal}
{verify_client}{end}
{ca_file} {bundle}{end}
{depth}
",
        version = d.version,
        command = d.command,
        rev = revocation.name(),
        root = ca.root,
        place = d.place,
        refusal = d.refusal,
        server = d.server,
        verify_client = d.verify_client,
        ca_file = d.ca_file,
        bundle = ca.file(CA_BUNDLE),
        depth = d.depth,
    );
    match revocation {
        Revocation::Ocsp => {
            let _ = write!(
                s,
                "
# Revocation by OCSP: at every log-in {server} asks Signet's responder about the person's
# certificate, so a revocation counts at once (and log-ins fail while the responder cannot be
# reached). `leaf`: the responder answers for the certificates the issuing CAs signed, not for
# the issuing CAs themselves (only the root's CRL lists those).
{leaf}{end}
# {server} asks over plain HTTP only (the answers are signed).{https}
{responder} {url}{end}
{after}",
                server = d.server,
                leaf = d.ocsp_leaf,
                https = https_note(ca),
                responder = d.ocsp_responder,
                url = ca.ocsp_url,
                after = d.ocsp_after,
            );
        }
        Revocation::Crl => {
            let _ = write!(
                s,
                "
# Revocation by CRL: {server} reads the CRLs of the root and of every issuing CA from this file
# when it starts or reloads. {CRL_SCRIPT} (beside the CA file) builds it: run it before the
# first start, then hourly, reloading {server} after it; e.g. in root's crontab:
#   17 * * * *  {script} && {reload}
# Signet publishes a new CRL at each revocation, which counts here after the next refresh. The
# CRLs expire {crl_days} days after Signet signed them: if the refreshing stops, every log-in is
# refused from then on.
{crl_file} {crls}{end}
{after}",
                server = d.server,
                script = ca.file(CRL_SCRIPT),
                reload = d.reload,
                crl_days = CRL_VALIDITY.whole_days(),
                crl_file = d.crl_file,
                crls = ca.file(CRL_FILE),
                after = d.crl_after,
            );
        }
    }
    let _ = write!(
        s,
        "
# The application behind {server} learns who logged in from the certificate's subject (not
# from its serial number or key, which change when the certificate is reissued or renewed):
{identity}",
        server = d.server,
        identity = d.identity,
    );
    s
}

/// The responder's address when the base URL is https: the same host, over plain HTTP.
fn https_note(ca: &Ca) -> &'static str {
    if ca.ocsp_over_http_too {
        "\n# Signet's base URL is https: Signet (or the proxy in front of it) must answer /ocsp over\n# plain HTTP at this address too."
    } else {
        ""
    }
}

impl Revocation {
    fn name(self) -> &'static str {
        match self {
            Revocation::Ocsp => "ocsp",
            Revocation::Crl => "crl",
        }
    }
}

/// A POSIX shell script that fetches every CRL, checks its signature against the CA bundle
/// beside it, and replaces the CRL file in one step (the old one stays when anything fails).
fn crl_script(ca: &Ca, reload: &str) -> String {
    let urls: String = ca
        .crl_urls
        .iter()
        .map(|u| format!("  '{u}' \\\n"))
        .collect();
    format!(
        "#!/bin/sh
# Rebuilds {CRL_FILE} beside this script from the CRLs of {org}'s CA: the root's and
# every shard of every issuing CA. Each is checked against {CA_BUNDLE} (beside this
# script); the file is replaced in one step, and stays as it was when anything fails.
# Written by `signet relying-party`; needs curl and openssl. Run it before the web server
# first starts, then hourly, reloading the web server after it, e.g. in root's crontab:
#   17 * * * *  {script} && {reload}
set -eu
dir=$(cd \"$(dirname \"$0\")\" && pwd)
cas=\"$dir/{CA_BUNDLE}\"
tmp=$(mktemp \"$dir/.{CRL_FILE}.XXXXXX\")
trap 'rm -f \"$tmp\" \"$tmp.der\"' EXIT
for url in \\
{urls}; do
  curl --fail --silent --show-error --max-time 30 --output \"$tmp.der\" \"$url\"
  if ! openssl crl -inform DER -in \"$tmp.der\" -noout -CAfile \"$cas\" 2>/dev/null; then
    echo \"$0: $url is not a CRL signed by a CA in $cas\" >&2
    exit 1
  fi
  openssl crl -inform DER -in \"$tmp.der\" >>\"$tmp\"
done
chmod 644 \"$tmp\"
mv -f \"$tmp\" \"$dir/{CRL_FILE}\"
",
        org = ca.organization,
        script = ca.file(CRL_SCRIPT),
    )
}
