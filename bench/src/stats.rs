//! Named samples in milliseconds, printed as min / median / max.

#[derive(Default)]
pub struct Samples {
    /// In the order stages were first added.
    series: Vec<(&'static str, Vec<f64>)>,
}

impl Samples {
    pub fn add(&mut self, name: &'static str, ms: f64) {
        match self.series.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(ms),
            None => self.series.push((name, vec![ms])),
        }
    }

    pub fn median(&self, name: &str) -> f64 {
        self.series
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(f64::NAN, |(_, values)| summary(values).1)
    }
}

/// (min, median, max).
fn summary(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    let median = if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    };
    (sorted[0], median, sorted[sorted.len() - 1])
}

pub fn print_stages(samples: &Samples) {
    println!(
        "{:<48} {:>8} {:>8} {:>8}",
        "stage (ms)", "min", "median", "max"
    );
    for (name, values) in &samples.series {
        let (min, median, max) = summary(values);
        println!("{name:<48} {min:>8.1} {median:>8.1} {max:>8.1}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(summary(&[3.0, 1.0, 2.0]), (1.0, 2.0, 3.0));
        assert_eq!(summary(&[4.0, 1.0, 2.0, 3.0]), (1.0, 2.5, 4.0));
    }
}
