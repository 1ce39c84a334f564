"""The one settings object: env vars ``MARKETOPS_*`` plus an optional ``marketops.toml``.

Nothing else in the code base reads the environment. The object is frozen and built once at an
entry point (CLI command, flow run) and then passed down, so a test can build its own with a
temporary home and never touch global state.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = Path("marketops.toml")

# Bounds a bar must respect to be plausible at all (gate error checks). Keys of
# ``MARKETOPS_PLAUSIBLE_BOUNDS``: a venue name or "*" (every venue) -> some of these names.
PLAUSIBLE_BOUND_DEFAULTS: dict[str, float] = {
    "min_price": 1e-12,  # below it a price is a unit or parse error, not a quote
    "max_price": 1e9,  # above any traded instrument's price
    "max_volume": 1e18,  # above any venue's volume in one minute (meme tokens trade ~1e13 units)
    "max_range_ratio": 100.0,  # high / low within one minute
}


class Settings(BaseSettings):
    """Typed, frozen configuration of every marketops component."""

    model_config = SettingsConfigDict(
        env_prefix="MARKETOPS_",
        env_nested_delimiter="__",
        frozen=True,
        extra="ignore",
    )

    home: Path = Field(default=Path(".marketops"), description="Holds all embedded state.")
    config_file: Path | None = Field(default=None, description="TOML file read besides env vars.")

    # warm tier
    clickhouse_url: str | None = Field(
        default=None, description="http(s)://host:port of a server; unset = embedded chDB (both clickhouse-connect)."
    )
    clickhouse_user: str = "default"
    clickhouse_password: SecretStr = SecretStr("")
    clickhouse_database: str = "marketops"
    clickhouse_connect_timeout_s: float = 10.0
    chdb_lock_timeout_s: float = Field(
        default=30.0, ge=0, description="How long a second process waits for the embedded warehouse."
    )

    clickhouse_cluster: str | None = Field(
        default=None, description="Cluster layout: Replicated <t>_local + Distributed <t>, maintenance ON CLUSTER."
    )
    clickhouse_backup_disk: str | None = Field(default=None, description="Server backup disk name for native BACKUP.")
    clickhouse_backup_path: Path | None = Field(default=None, description="That backup disk mounted on this machine.")

    backup_driver: str = Field(
        default="native",
        pattern="^(native|clickhouse-backup)$",
        description="native BACKUP, or Altinity clickhouse-backup.",
    )
    clickhouse_backup_bin: str = Field(default="clickhouse-backup", description="The clickhouse-backup binary.")
    clickhouse_backup_config: Path | None = Field(default=None, description="clickhouse-backup's config.yml.")

    venue_sessions: dict[str, str] = Field(
        default_factory=dict, description="venue -> crypto | fx | equity, over the built-in table."
    )
    venue_calendars: dict[str, str] = Field(
        default_factory=dict, description="equity venue -> exchange_calendars code, over the built-in table."
    )

    # data quality (validate flow)
    dq_pass_rate_threshold: float = Field(
        default=0.999, ge=0, le=1, description="Files/rows pass rate below it is a breach."
    )
    dq_thresholds: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Check thresholds by session kind or venue."
    )
    known_events_files: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="Allowlist files read besides the bundled one."
    )
    validate_batch_symbols: int = Field(default=200, ge=1, description="Symbols per validate task.")
    validate_batch_rows: int = Field(
        default=1_000_000,
        ge=1_440,
        description="Most 1m bars one validate task reads (estimated from each symbol's span): bounds its memory.",
    )
    reports_port: int = Field(
        default=4280,
        ge=0,
        le=65535,
        description="Port `marketops up` serves the reports on (127.0.0.1; 0 = no server).",
    )
    validate_ge_max_rows: int = Field(
        default=2_000_000, ge=0, description="Rows of the run's batch the Great Expectations suite sees (0 = off)."
    )

    # maintenance
    optimize_cutoff_utc: str | None = Field(
        default=None, pattern=r"^\d{2}:\d{2}$", description="HH:MM UTC after which optimize stops starting partitions."
    )
    optimize_merge_wait_s: float = Field(
        default=600.0, ge=0, description="How long to wait for running merges of a partition."
    )
    backup_full_every_h: float = Field(default=24.0, gt=0)
    backup_keep_days: float = Field(default=7.0, gt=0)
    backup_min_chains: int = Field(default=1, ge=1)
    backup_max_chains: int = Field(default=60, ge=1)

    # hot tier
    hazelcast_members: Annotated[list[str], NoDecode] = Field(default_factory=list)
    hazelcast_cluster: str = "dev"
    hazelcast_username: str | None = None
    hazelcast_password: SecretStr | None = None
    hazelcast_connect_timeout_s: float = Field(
        default=20.0, gt=0, description="Bounded: the client's default waits forever."
    )
    hot_put_chunk: int = Field(default=1000, ge=1, description="Entries per put_all call.")
    hot_recent_bars: int = Field(default=100, ge=1, description="Bars kept per symbol and timeframe in the hot tier.")
    hot_timeframes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["1m", "5m", "15m", "1h", "4h", "1d"]
    )
    hot_verify_sample: int = Field(
        default=200, ge=0, description="Values read back and compared per map after a warmup."
    )

    # ingest
    landing_paths: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="Default paths the ingest flow scans."
    )
    ingest_batch_max_files: int = Field(default=1024, ge=1, description="Cap on files per batch task.")
    ingest_batch_max_bytes: int = Field(
        default=256 * 2**20, ge=1, description="Cap on raw bytes per batch task (memory bound)."
    )
    ingest_workers: int = Field(default=2, ge=1, description="Batch tasks running at once inside one flow run.")
    file_error_ratio_threshold: float = Field(
        default=0.05, ge=0, le=1, description="Above it a file is quarantined whole."
    )
    generic_timezone: str | None = Field(
        default=None,
        description="Zone of naive timestamps in generic files; unset: the venue's session zone, else UTC (warned).",
    )
    generic_columns: dict[str, str] = Field(
        default_factory=dict, description="Canonical name -> source column, for generic files."
    )
    ingest_max_file_bytes: int = Field(
        default=4 * 2**30, ge=1, description="A landing file larger than this is quarantined unread (bounded reads)."
    )
    plausible_since: date = Field(
        default=date(1990, 1, 1), description="Bars before this UTC day are quarantined (ts_implausible)."
    )
    plausible_future_s: float = Field(
        default=86400.0, ge=0, description="Bars later than now + this many seconds are quarantined."
    )
    plausible_bounds: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description='Per venue (or "*"): min_price, max_price, max_volume, max_range_ratio over the defaults.',
    )

    # alerts (the local alert log is always written)
    alert_webhook_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Generic JSON webhooks."
    )
    alert_slack_webhook_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Slack incoming webhooks."
    )
    alert_apprise_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="apprise notification URLs."
    )
    alert_fold_window_s: float = Field(
        default=3600.0, ge=0, description="Repeats of one alert within it are folded into one."
    )
    alert_timeout_s: float = Field(default=10.0, gt=0)
    stale_after_minutes: float | None = Field(
        default=None, gt=0, description="Alert when a symbol's newest bar is older (off when unset)."
    )

    # task runner: where the CPU-heavy part of batch tasks runs
    task_runner: str = Field(
        default="thread",
        pattern="^(thread|dask)$",
        description="thread: threads of the flow process; dask: a Dask cluster.",
    )
    dask_address: str | None = Field(
        default=None, description="Scheduler of an existing Dask cluster (tcp://host:8786); unset = a LocalCluster."
    )
    dask_workers: int = Field(default=2, ge=1, description="Worker processes of the LocalCluster a flow run starts.")
    dask_threads_per_worker: int = Field(default=1, ge=1, description="Threads per LocalCluster worker process.")

    # cold tier on object storage (unset = the local directory $MARKETOPS_HOME/cold)
    cold_url: str | None = Field(
        default=None, pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", description="s3://bucket/prefix"
    )
    cold_s3_endpoint_url: str | None = Field(
        default=None, description="http(s)://host:port of an S3-API server; unset = AWS."
    )
    cold_s3_region: str = "us-east-1"
    cold_s3_access_key_id: str | None = None
    cold_s3_secret_access_key: SecretStr | None = None
    cold_s3_session_token: SecretStr | None = None
    # the background Prefect server an ad-hoc flow command starts when no stack is up (deployments/background_server.py)
    prefect_idle_stop_minutes: float = Field(
        default=30.0, gt=0, description="The background Prefect server stops itself after this long unused."
    )
    prefect_server_startup_timeout_s: float = Field(default=180.0, gt=0)

    # retries of transient storage faults
    retries: int = Field(default=3, ge=0)
    retry_base_delay_s: float = Field(default=2.0, ge=0)

    @field_validator("dq_thresholds")
    @classmethod
    def _known_thresholds(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from core.quality_rules import check_overrides  # it imports polars: not for `--help`

        check_overrides(value)
        return value

    @field_validator("plausible_bounds")
    @classmethod
    def _known_bounds(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for venue, bounds in value.items():
            unknown = set(bounds) - set(PLAUSIBLE_BOUND_DEFAULTS)
            if unknown:
                raise ValueError(
                    f"plausible_bounds[{venue!r}]: unknown {sorted(unknown)}; known: {sorted(PLAUSIBLE_BOUND_DEFAULTS)}"
                )
        return value

    def bounds_for(self, venue: str) -> dict[str, float]:
        """The plausibility bounds of ``venue``: defaults, then "*", then the venue's own."""
        return {
            **PLAUSIBLE_BOUND_DEFAULTS,
            **self.plausible_bounds.get("*", {}),
            **self.plausible_bounds.get(venue, {}),
        }

    @field_validator(
        "known_events_files",
        "hazelcast_members",
        "landing_paths",
        "hot_timeframes",
        "alert_webhook_urls",
        "alert_slack_webhook_urls",
        "alert_apprise_urls",
        mode="before",
    )
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        # env vars carry lists as "a,b" or a JSON list; accept both.
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments > env vars > TOML file > defaults.
        env_probe = env_settings()
        toml_path = Path(env_probe.get("config_file") or DEFAULT_CONFIG_FILE)
        toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_path)
        return (init_settings, env_settings, toml)

    # Derived locations: one home holds everything, so two homes never interfere.
    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def warehouse_dir(self) -> Path:
        return self.home_dir / "warehouse"

    @property
    def backups_dir(self) -> Path:
        return self.home_dir / "backups"

    @property
    def cold_dir(self) -> Path:
        return self.home_dir / "cold"

    @property
    def hot_path(self) -> Path:
        return self.home_dir / "hot" / "hot.sqlite"

    @property
    def default_landing_dir(self) -> Path:
        return self.home_dir / "landing"

    @property
    def landing_dirs(self) -> list[Path]:
        """Where scheduled ingests look: the configured paths, else ``$MARKETOPS_HOME/landing``."""
        return list(self.landing_paths) or [self.default_landing_dir]

    @property
    def samples_dir(self) -> Path:
        return self.home_dir / "samples"

    @property
    def reports_dir(self) -> Path:
        return self.home_dir / "reports"

    @property
    def alerts_log(self) -> Path:
        return self.home_dir / "alerts.jsonl"

    @property
    def prefect_home(self) -> Path:
        return self.home_dir / "prefect"

    @property
    def warm_backend(self) -> str:
        return "clickhouse" if self.clickhouse_url else "chdb"

    @property
    def cold_backend(self) -> str:
        return "s3" if self.cold_url else "local"

    @property
    def hot_backend(self) -> str:
        return "hazelcast" if self.hazelcast_members else "embedded"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings once at an entry point; keyword overrides win over env and file."""
    return Settings(**overrides)
