//! Automatic assignment within a team: whose turn a new ticket is. Pure;
//! the store calls it inside the transaction that holds the team's turn.

/// The member to assign under `rule` (`round_robin`, `least_open`; any
/// other assigns nobody), given the member assigned last and the members
/// present as (user id, open tickets), in id order.
pub fn choose(rule: &str, last: Option<i64>, members: &[(i64, i64)]) -> Option<i64> {
    match rule {
        // The next member after the last one assigned, wrapping around;
        // a departed last assignee simply continues from their place.
        "round_robin" => members
            .iter()
            .find(|m| last.is_none_or(|l| m.0 > l))
            .or(members.first())
            .map(|m| m.0),
        // The fewest open tickets; the lowest id among equals.
        "least_open" => members.iter().min_by_key(|m| (m.1, m.0)).map(|m| m.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::choose;

    #[test]
    fn round_robin_takes_turns_and_wraps() {
        let m = [(3, 9), (5, 0), (8, 2)];
        assert_eq!(choose("round_robin", None, &m), Some(3));
        assert_eq!(choose("round_robin", Some(3), &m), Some(5));
        assert_eq!(choose("round_robin", Some(5), &m), Some(8));
        assert_eq!(choose("round_robin", Some(8), &m), Some(3));
        // The last one left the team (or is away): the next after them.
        assert_eq!(choose("round_robin", Some(4), &m), Some(5));
        assert_eq!(choose("round_robin", Some(1), &[]), None);
    }

    #[test]
    fn least_open_prefers_the_least_loaded() {
        let m = [(3, 9), (5, 2), (8, 2)];
        assert_eq!(choose("least_open", Some(5), &m), Some(5));
        assert_eq!(choose("none", None, &m), None);
    }
}
