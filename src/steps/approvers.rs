//! `--approved-by`: who approved, by role (SPEC `approval`). `--approved-by dana`
//! answers approvals without a role; `--approved-by manager=dana` answers only those with
//! `role = "manager"`. Several roles take several flags, and one person cannot fill two
//! roles of one run.

use std::collections::BTreeMap;

/// The approvers given on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Approvers {
    /// `--approved-by NAME`: approvals without a role.
    pub plain: Option<String>,
    /// `--approved-by ROLE=NAME`.
    pub by_role: BTreeMap<String, String>,
}

impl Approvers {
    /// Reads the `--approved-by` values; why not, in words a person acts on.
    pub fn parse(values: &[String]) -> Result<Approvers, String> {
        let mut approvers = Approvers::default();
        for value in values {
            let value = value.trim();
            match value.split_once('=') {
                Some((role, name)) => {
                    let (role, name) = (role.trim(), name.trim());
                    if role.is_empty() || name.is_empty() {
                        return Err(format!(
                            "--approved-by `{value}` is neither NAME nor ROLE=NAME (e.g. --approved-by manager=dana)"
                        ));
                    }
                    if let Some(other) = approvers.by_role.get(role)
                        && other != name
                    {
                        return Err(format!(
                            "--approved-by gives two names for the role `{role}` ({other} and {name}): give one"
                        ));
                    }
                    approvers.by_role.insert(role.to_string(), name.to_string());
                }
                None if value.is_empty() => {
                    return Err("--approved-by needs a name (or ROLE=NAME)".to_string());
                }
                None => {
                    if let Some(other) = &approvers.plain
                        && other != value
                    {
                        return Err(format!(
                            "--approved-by gives two names without a role ({other} and {value}): an approval with a role takes ROLE=NAME"
                        ));
                    }
                    approvers.plain = Some(value.to_string());
                }
            }
        }
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (role, name) in &approvers.by_role {
            if let Some(first) = seen.insert(name.as_str(), role.as_str()) {
                return Err(format!(
                    "{name} cannot approve both as {first} and as {role}: each role needs its own approver"
                ));
            }
        }
        Ok(approvers)
    }

    /// The name that answers an approval of `role` (or one without a role).
    pub fn for_role(&self, role: Option<&str>) -> Option<&str> {
        match role {
            Some(role) => self.by_role.get(role).map(String::as_str),
            None => self.plain.as_deref(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.plain.is_none() && self.by_role.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Result<Approvers, String> {
        Approvers::parse(&values.iter().map(|v| v.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn a_role_answers_only_its_own_approvals() {
        let a = parse(&["engineer=sam", "manager=dana"]).unwrap();
        assert_eq!(a.for_role(Some("manager")), Some("dana"));
        assert_eq!(a.for_role(Some("engineer")), Some("sam"));
        assert_eq!(a.for_role(None), None);
        let plain = parse(&["sam"]).unwrap();
        assert_eq!(plain.for_role(None), Some("sam"));
        assert_eq!(plain.for_role(Some("manager")), None);
    }

    #[test]
    fn one_person_cannot_fill_two_roles() {
        let err = parse(&["engineer=dana", "manager=dana"]).unwrap_err();
        assert!(
            err.contains("dana cannot approve both as engineer and as manager"),
            "{err}"
        );
        assert!(parse(&["manager="]).is_err());
        assert!(parse(&["a", "b"]).is_err());
    }
}
