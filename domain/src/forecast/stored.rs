//! Stored system baselines (系统基线): what the API says about the
//! background runs that compute every retailer × spec's baseline and 80 %
//! interval when the history changes, and about the months stored.

use serde::{Deserialize, Serialize};

use crate::month::YearMonth;
use crate::Lang;

/// Where a recompute run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for the run before it (at most one waits).
    Queued,
    Running,
    Done,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        match s {
            "queued" => Some(RunStatus::Queued),
            "running" => Some(RunStatus::Running),
            "done" => Some(RunStatus::Done),
            "failed" => Some(RunStatus::Failed),
            _ => None,
        }
    }

    /// Whether the run has not ended yet.
    pub fn active(self) -> bool {
        matches!(self, RunStatus::Queued | RunStatus::Running)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            RunStatus::Queued => lang.pick("排队中", "Queued"),
            RunStatus::Running => lang.pick("计算中", "Computing"),
            RunStatus::Done => lang.pick("已完成", "Done"),
            RunStatus::Failed => lang.pick("失败", "Failed"),
        }
    }
}

/// What asked for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunSource {
    /// The marketing center's 重新计算 button.
    Manual,
    /// An order-history file was imported.
    HistoryImport,
    /// A month's actual orders were loaded (from a file or from the
    /// delivered online orders): the month closed.
    Actuals,
    /// The demo data was generated.
    Demo,
    /// The server started with stored baselines older than the history.
    Start,
}

impl RunSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RunSource::Manual => "manual",
            RunSource::HistoryImport => "history_import",
            RunSource::Actuals => "actuals",
            RunSource::Demo => "demo",
            RunSource::Start => "start",
        }
    }

    pub fn parse(s: &str) -> Option<RunSource> {
        match s {
            "manual" => Some(RunSource::Manual),
            "history_import" => Some(RunSource::HistoryImport),
            "actuals" => Some(RunSource::Actuals),
            "demo" => Some(RunSource::Demo),
            "start" => Some(RunSource::Start),
            _ => None,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            RunSource::Manual => lang.pick("手动重新计算", "Recomputed by hand"),
            RunSource::HistoryImport => lang.pick("导入历史订货后", "After a history import"),
            RunSource::Actuals => lang.pick("载入实际订货后", "After actual orders were loaded"),
            RunSource::Demo => lang.pick("生成演示数据后", "After the demo data"),
            RunSource::Start => lang.pick("服务启动时", "At server start"),
        }
    }
}

/// One recompute run. Times are UNIX seconds (shown as China time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BaselineRun {
    pub id: i64,
    pub status: RunStatus,
    pub source: RunSource,
    /// Who asked, for a run asked for by a person.
    pub requested_by: Option<String>,
    pub requested_at: i64,
    /// The last history month the run reads (set when it starts).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub history_through: Option<YearMonth>,
    /// The months it computes: the two after `history_through`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub months: Vec<YearMonth>,
    /// Retailer × spec series with history in the window, and how many are
    /// computed so far.
    pub total: i64,
    pub done: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
}

impl BaselineRun {
    /// Share computed, 0–1.
    pub fn share(&self) -> f64 {
        if self.total > 0 {
            (self.done as f64 / self.total as f64).clamp(0.0, 1.0)
        } else if self.status == RunStatus::Done {
            1.0
        } else {
            0.0
        }
    }
}

/// A month whose baselines are stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredMonth {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub month: YearMonth,
    /// The last history month behind them.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub history_through: YearMonth,
    pub computed_at: i64,
    /// Series stored (those with history; the others are 0, interval 0–0).
    pub series: i64,
}

/// The state of the stored baselines, for the marketing center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BaselineStatus {
    /// The latest month of order history.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub history_through: Option<YearMonth>,
    /// Stored months, latest first.
    pub stored: Vec<StoredMonth>,
    /// The latest runs, newest first.
    pub runs: Vec<BaselineRun>,
}

impl BaselineStatus {
    /// The run under way (running, or queued behind nothing), if any.
    pub fn active(&self) -> Option<&BaselineRun> {
        self.runs
            .iter()
            .find(|r| r.status == RunStatus::Running)
            .or_else(|| self.runs.iter().find(|r| r.status == RunStatus::Queued))
    }

    /// Whether the history has months the stored baselines do not know.
    pub fn stale(&self) -> bool {
        let through = self.stored.iter().map(|m| m.history_through).max();
        match (self.history_through, through) {
            (Some(h), Some(s)) => s < h,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: RunStatus, done: i64, total: i64) -> BaselineRun {
        BaselineRun {
            id: 1,
            status,
            source: RunSource::Manual,
            requested_by: None,
            requested_at: 0,
            history_through: None,
            months: Vec::new(),
            total,
            done,
            started_at: None,
            finished_at: None,
            error: None,
        }
    }

    #[test]
    fn share_is_between_zero_and_one() {
        assert_eq!(run(RunStatus::Running, 5, 10).share(), 0.5);
        assert_eq!(run(RunStatus::Running, 0, 0).share(), 0.0);
        assert_eq!(run(RunStatus::Done, 0, 0).share(), 1.0);
        assert_eq!(run(RunStatus::Running, 12, 10).share(), 1.0);
    }

    #[test]
    fn statuses_and_sources_read_back() {
        for s in [
            RunStatus::Queued,
            RunStatus::Running,
            RunStatus::Done,
            RunStatus::Failed,
        ] {
            assert_eq!(RunStatus::parse(s.as_str()), Some(s));
        }
        for s in [
            RunSource::Manual,
            RunSource::HistoryImport,
            RunSource::Actuals,
            RunSource::Demo,
            RunSource::Start,
        ] {
            assert_eq!(RunSource::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn baselines_are_stale_when_the_history_is_newer() {
        let ym = |s: &str| s.parse::<YearMonth>().expect("month");
        let mut status = BaselineStatus {
            history_through: Some(ym("2026-10")),
            stored: Vec::new(),
            runs: Vec::new(),
        };
        assert!(status.stale(), "nothing stored");
        status.stored.push(StoredMonth {
            month: ym("2026-11"),
            history_through: ym("2026-09"),
            computed_at: 0,
            series: 1,
        });
        assert!(status.stale());
        status.stored[0].history_through = ym("2026-10");
        assert!(!status.stale());
    }
}
