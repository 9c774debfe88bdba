//! The billing dashboard's revenue chart: one bar per month and currency, laid out
//! here so the template only draws. Heights are scaled from the integer cents
//! with integer math; nothing in the path from the database to the pixels is a
//! float, so equal amounts always draw equal bars.

use super::billing::money;
use activities::billing::reports::MonthRevenue;
use serde::Serialize;

/// The drawing's size in SVG units (it scales to the page's width).
const WIDTH: i64 = 720;
const HEIGHT: i64 = 220;
/// Room above the bars for the scale, and below them for the month labels.
const TOP: i64 = 24;
const BOTTOM: i64 = 24;
/// Room left of the bars for the scale's amount.
const LEFT: i64 = 8;

/// One month's bar.
#[derive(Debug, Serialize)]
pub struct Bar {
    /// Left edge.
    pub x: i64,
    /// Top edge.
    pub y: i64,
    /// Bar width.
    pub width: i64,
    /// Bar height (0 for a month without revenue).
    pub height: i64,
    /// Centre of the bar, where its label goes.
    pub mid: i64,
    /// The month, short ("Mar 26").
    pub label: String,
    /// The month in full ("2026-03").
    pub month: String,
    /// The revenue as money text.
    pub amount: String,
    /// Invoices counted.
    pub invoices: i64,
}

/// One currency's chart.
#[derive(Debug, Serialize)]
pub struct Chart {
    /// ISO 4217 currency.
    pub currency: String,
    /// The months, oldest first.
    pub bars: Vec<Bar>,
    /// The largest month, as money text (the top of the scale).
    pub max: String,
    /// The span's total, as money text.
    pub total: String,
    /// Drawing width.
    pub width: i64,
    /// Drawing height.
    pub height: i64,
    /// Where the bars stand.
    pub baseline: i64,
}

/// One chart per currency, from rows ordered by currency then month (as
/// `revenue_by_month` answers them).
pub fn charts(rows: &[MonthRevenue]) -> Vec<Chart> {
    let mut charts = Vec::new();
    let mut start = 0;
    while start < rows.len() {
        let currency = &rows[start].currency;
        let len = rows[start..]
            .iter()
            .take_while(|r| &r.currency == currency)
            .count();
        charts.push(chart(&rows[start..start + len]));
        start += len;
    }
    charts
}

/// The chart of one currency's months.
fn chart(months: &[MonthRevenue]) -> Chart {
    let max = months.iter().map(|m| m.revenue_cents).max().unwrap_or(0);
    let total: i64 = months.iter().map(|m| m.revenue_cents).sum();
    let plot = HEIGHT - TOP - BOTTOM;
    let baseline = HEIGHT - BOTTOM;
    let count = i64::try_from(months.len()).unwrap_or(1).max(1);
    let slot = (WIDTH - LEFT) / count;
    let gap = (slot / 5).max(2);
    let bars = months
        .iter()
        .zip(0..)
        .map(|(m, i)| {
            let height = bar_height(m.revenue_cents, max, plot);
            let x = LEFT + i * slot + gap / 2;
            Bar {
                x,
                y: baseline - height,
                width: slot - gap,
                height,
                mid: x + (slot - gap) / 2,
                label: m.month.format("%b %y").to_string(),
                month: m.month.format("%Y-%m").to_string(),
                amount: money(m.revenue_cents),
                invoices: m.invoices,
            }
        })
        .collect();
    Chart {
        currency: months
            .first()
            .map(|m| m.currency.clone())
            .unwrap_or_default(),
        bars,
        max: money(max),
        total: money(total),
        width: WIDTH,
        height: HEIGHT,
        baseline,
    }
}

/// `cents` of `max_cents` as a height of at most `plot` units, rounded down but
/// at least 1 for any revenue, so a small month is still seen; none for a month
/// without revenue (or with only credit notes).
fn bar_height(cents: i64, max_cents: i64, plot: i64) -> i64 {
    if cents <= 0 || max_cents <= 0 {
        return 0;
    }
    // i128: cents × plot cannot overflow, whatever the amounts.
    let scaled = i128::from(cents) * i128::from(plot) / i128::from(max_cents);
    i64::try_from(scaled).unwrap_or(plot).clamp(1, plot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn month(currency: &str, m: u32, cents: i64) -> MonthRevenue {
        MonthRevenue {
            month: NaiveDate::from_ymd_opt(2026, m, 1).expect("valid month"),
            currency: currency.into(),
            revenue_cents: cents,
            invoices: i64::from(cents != 0),
        }
    }

    #[test]
    fn heights_scale_from_cents_with_integer_math() {
        let cases = [
            ("the largest month fills the plot", 500, 500, 172),
            ("half of it is half as high", 250, 500, 86),
            ("a cent still shows", 1, 1_000_000_000_000, 1),
            ("nothing draws nothing", 0, 500, 0),
            ("a credit note month draws nothing", -300, 500, 0),
            ("huge amounts do not overflow", i64::MAX, i64::MAX, 172),
        ];
        for (name, cents, max, expected) in cases {
            assert_eq!(bar_height(cents, max, 172), expected, "{name}");
        }
    }

    #[test]
    fn one_chart_per_currency_with_its_months_in_order() {
        let rows = vec![
            month("EUR", 1, 0),
            month("EUR", 2, 700),
            month("USD", 1, 1_500),
            month("USD", 2, 500),
        ];
        let charts = charts(&rows);
        let currencies: Vec<&str> = charts.iter().map(|c| c.currency.as_str()).collect();
        assert_eq!(currencies, vec!["EUR", "USD"]);
        let usd = &charts[1];
        assert_eq!(usd.total, "20.00");
        assert_eq!(usd.max, "15.00");
        assert_eq!(usd.bars[0].label, "Jan 26");
        assert_eq!(usd.bars[0].month, "2026-01");
        assert_eq!(usd.bars[0].y + usd.bars[0].height, usd.baseline);
        assert!(usd.bars[0].height > usd.bars[1].height);
        assert!(usd.bars[0].x + usd.bars[0].width < usd.bars[1].x);
        assert_eq!(charts[0].bars[0].height, 0);
    }

    #[test]
    fn no_rows_no_charts() {
        assert!(charts(&[]).is_empty());
    }
}
