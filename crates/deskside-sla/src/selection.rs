//! Which SLA policy applies to a ticket: the first, in the administrators'
//! order, whose conditions all hold. An empty condition holds for every
//! ticket, so a last policy without conditions is the default.

/// What a policy's conditions look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFacts<'a> {
    /// `incident` or `service_request`.
    pub ticket_type: &'a str,
    /// Priority 1–5.
    pub priority: i64,
    /// Category.
    pub category: &'a str,
    /// Team id, if it has one.
    pub team: Option<i64>,
}

/// A policy's conditions; each list holds when it is empty or contains
/// the ticket's value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    /// Ticket types.
    pub types: Vec<String>,
    /// Priorities.
    pub priorities: Vec<i64>,
    /// Categories.
    pub categories: Vec<String>,
    /// Teams (a ticket without a team matches no list of teams).
    pub teams: Vec<i64>,
}

impl Conditions {
    /// Whether every condition holds for `t`.
    pub fn matches(&self, t: &TicketFacts<'_>) -> bool {
        (self.types.is_empty() || self.types.iter().any(|x| x == t.ticket_type))
            && (self.priorities.is_empty() || self.priorities.contains(&t.priority))
            && (self.categories.is_empty() || self.categories.iter().any(|x| x == t.category))
            && (self.teams.is_empty() || t.team.is_some_and(|team| self.teams.contains(&team)))
    }
}

/// The index of the first of `policies` (in order) whose conditions hold.
pub fn select<'c>(
    policies: impl IntoIterator<Item = &'c Conditions>,
    t: &TicketFacts<'_>,
) -> Option<usize> {
    policies.into_iter().position(|c| c.matches(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_match_wins() {
        let p1 = Conditions {
            priorities: vec![1, 2],
            types: vec!["incident".into()],
            ..Conditions::default()
        };
        let p2 = Conditions {
            teams: vec![7],
            ..Conditions::default()
        };
        let default = Conditions::default();
        let policies = [p1, p2, default];
        let facts = |ticket_type, priority, team| TicketFacts {
            ticket_type,
            priority,
            category: "network",
            team,
        };
        assert_eq!(select(&policies, &facts("incident", 1, Some(7))), Some(0));
        assert_eq!(
            select(&policies, &facts("service_request", 1, Some(7))),
            Some(1)
        );
        assert_eq!(select(&policies, &facts("incident", 3, None)), Some(2));
        assert_eq!(select(&policies[..2], &facts("incident", 3, None)), None);
        let by_category = Conditions {
            categories: vec!["hardware".into()],
            ..Conditions::default()
        };
        assert!(!by_category.matches(&facts("incident", 3, None)));
    }
}
