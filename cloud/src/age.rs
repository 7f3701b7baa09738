//! The age gate: nobody under 13 gets an account (a country may ask for more, never less).

/// The youngest age anywhere.
pub(crate) const MINIMUM_AGE: u32 = 13;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Date {
    pub(crate) year: i32,
    pub(crate) month: u32,
    pub(crate) day: u32,
}

impl Date {
    /// A date written `YYYY-MM-DD`, if it is one that exists.
    pub(crate) fn parse(text: &str) -> Option<Date> {
        let mut parts = text.split('-');
        let year: i32 = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        if parts.next().is_some() || text.len() != 10 || !(1..=12).contains(&month) {
            return None;
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month as usize - 1];
        (1..=days).contains(&day).then_some(Date { year, month, day })
    }

    /// Today in UTC.
    pub(crate) fn today() -> Date {
        let seconds =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_secs());
        Date::from_days((seconds / 86_400) as i64)
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's civil-from-days).
    fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Full years from `self` (a birth date) to `on`.
    pub(crate) fn age_on(self, on: Date) -> i64 {
        let years = i64::from(on.year - self.year);
        if (on.month, on.day) < (self.month, self.day) { years - 1 } else { years }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_count_whole_years_and_dates_must_exist() {
        let birth = Date::parse("2013-06-15").unwrap();
        assert_eq!(birth.age_on(Date::parse("2026-06-14").unwrap()), 12);
        assert_eq!(birth.age_on(Date::parse("2026-06-15").unwrap()), 13);
        assert!(Date::parse("2023-02-29").is_none() && Date::parse("2024-02-29").is_some());
        for bad in ["", "2013-6-15", "2013-13-01", "15/06/2013", "2013-06-15-01"] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(Date::from_days(0), Date { year: 1970, month: 1, day: 1 });
        assert_eq!(Date::from_days(20_423), Date { year: 2025, month: 12, day: 1 });
    }
}
