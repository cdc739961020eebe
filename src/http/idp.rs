//! Which identity provider sent a request, from its User-Agent, for the request log line and
//! per-IdP metrics. A label for operators only: nothing behaves differently by IdP (every
//! dialect is accepted for every client).

/// A short label: `okta`, `entra`, `onelogin`, `jumpcloud`, `google`, `other`, or `-` without a
/// User-Agent.
pub fn detect(user_agent: Option<&str>) -> &'static str {
    let Some(ua) = user_agent else { return "-" };
    let ua = ua.to_ascii_lowercase();
    const KNOWN: &[(&str, &str)] = &[
        ("okta", "okta"),
        ("entra", "entra"),
        ("azure", "entra"),
        ("microsoft", "entra"),
        ("onelogin", "onelogin"),
        ("jumpcloud", "jumpcloud"),
        ("google", "google"),
    ];
    KNOWN
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, label)| *label)
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::detect;

    #[test]
    fn labels_known_clients() {
        assert_eq!(detect(Some("Okta SCIM Client 1.0.0")), "okta");
        assert_eq!(detect(Some("Microsoft Entra ID SCIM Client")), "entra");
        assert_eq!(detect(Some("Microsoft.Identity.Provisioning")), "entra");
        assert_eq!(detect(Some("OneLogin-SCIM/2.0")), "onelogin");
        assert_eq!(detect(Some("curl/8.5.0")), "other");
        assert_eq!(detect(None), "-");
    }
}
