"""All settings in one place: the environment, an optional TOML file (GWBOT_CONFIG), defaults that work.

Secrets (tokens, passwords) are kept in :class:`Settings` but never appear in
its ``repr`` or in :meth:`Settings.describe`, so they cannot reach a log line.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from bot.brokers.record import Format
from bot.logs import URL_CREDENTIALS, redact_url

DEFAULT_HOP_URL = "kafka://kafka.scimma.org/igwn.gwalert,gcn.circular"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
SECRET_FIELDS = {"slack_bot_token", "slack_app_token", "slack_signing_secret", "hop_password", "lco_api_token",
                 "treasuremap_api_token", "hermes_api_token"}


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it."""


@dataclass(frozen=True)
class Rule:
    """Which alerts a channel wants. Unset criteria match everything."""

    significant: bool | None = None
    groups: tuple[str, ...] = ()
    max_far_per_year: float | None = None
    min_bns: float | None = None
    min_nsbh: float | None = None
    min_hasns: float | None = None
    min_hasremnant: float | None = None
    alert_types: tuple[str, ...] = ()
    mock: bool | None = None  # routes: None = real events only; True = mock only

    @classmethod
    def from_toml(cls, table: Mapping[str, Any], where: str) -> Rule:
        known = {f.name for f in fields(cls)}
        unknown = set(table) - known - {"channel"}
        if unknown:
            raise ConfigError(f"{where}: unknown routing keys {sorted(unknown)}; known: {sorted(known)}")
        values = dict(table)
        values.pop("channel", None)
        for key in ("groups", "alert_types"):
            if key in values:
                values[key] = tuple(str(v).upper() if key == "alert_types" else str(v) for v in values[key])
        return cls(**values)


@dataclass(frozen=True)
class Route:
    channel: str
    rule: Rule


@dataclass(frozen=True)
class Routing:
    """The alerts channel's rule, which events get a channel, and extra channels."""

    alerts: Rule = field(default_factory=Rule)
    event_channels: Rule = field(default_factory=lambda: Rule(significant=True))
    routes: tuple[Route, ...] = ()

    @classmethod
    def from_toml(cls, doc: Mapping[str, Any]) -> Routing:
        alerts = Rule.from_toml(doc.get("alerts", {}), "[alerts]")
        event_channels = Rule.from_toml(doc.get("event_channels", {"significant": True}), "[event_channels]")
        routes = []
        for i, table in enumerate(doc.get("routes", [])):
            if "channel" not in table:
                raise ConfigError(f"[[routes]] entry {i + 1} has no channel")
            routes.append(Route(str(table["channel"]), Rule.from_toml(table, f"[[routes]] {table['channel']}")))
        return cls(alerts, event_channels, tuple(routes))


@dataclass(frozen=True)
class FollowupRule:
    """One facility's follow-up rule (an ``[[auto_plans]]`` table): which alerts are worth observing with it, and
    the plan proposed for them. The criteria have ``[[routes]]``' keys and meanings (``criteria``), plus the 90%
    area, the distance, and the probability the facility can observe in the next 24 h."""

    facility: str
    instrument: str | None = None
    filters: tuple[str, ...] = ()
    exposure_s: float = 300.0
    hours: float = 24.0
    fields: int | None = None
    revisit: str | None = None
    criteria: Rule = field(default_factory=Rule)
    max_area90_deg2: float | None = None
    max_distance_mpc: float | None = None
    min_observable: float = 0.1  # of the probability, in the next 24 h
    auto_submit: bool = False  # submit without a person's Approve (the message says the rule decided)

    @property
    def name(self) -> str:
        return f"{self.facility}/{self.instrument}" if self.instrument else self.facility

    @classmethod
    def from_toml(cls, table: Mapping[str, Any], where: str) -> FollowupRule:
        own = {f.name for f in fields(cls)} - {"criteria"}
        criteria = {f.name for f in fields(Rule)}
        unknown = set(table) - own - criteria
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(own | criteria)}")
        if not table.get("facility"):
            raise ConfigError(f"{where}: facility is required")
        values: dict[str, Any] = {k: v for k, v in table.items() if k in own}
        values["facility"] = str(values["facility"]).lower()
        if "filters" in values:
            values["filters"] = _as_list(values["filters"])
        for key in ("exposure_s", "hours", "max_area90_deg2", "max_distance_mpc", "min_observable"):
            if key in values:
                values[key] = float(values[key])
        if not 0.0 <= values.get("min_observable", 0.1) <= 1.0:
            raise ConfigError(f"{where}: min_observable is a probability, 0 to 1")
        return cls(criteria=Rule.from_toml({k: v for k, v in table.items() if k in criteria}, where), **values)


@dataclass(frozen=True)
class BrokerConfig:
    """One optical alert broker's Kafka stream (a ``[[brokers]]`` table). Its secrets are not here: only the
    names of the environment variables that hold them, read when connecting."""

    name: str
    format: Format
    url: str  # kafka://host:port/topic1,topic2, as HOP_URL
    group_id: str | None = None  # default "<name>-gwbot-candidates"
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    ssl_ca_location: str | None = None

    @classmethod
    def from_toml(cls, table: Mapping[str, Any], where: str) -> BrokerConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(table) - known
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        for key in ("name", "format", "url"):
            if not table.get(key):
                raise ConfigError(f"{where}: {key} is required")
        try:
            fmt = Format(str(table["format"]).lower())
        except ValueError:
            raise ConfigError(f"{where}: format {table['format']!r} is not one of "
                              f"{', '.join(f.value for f in Format)}") from None
        url = str(table["url"])
        if not re.match(r"^kafka://[^/]+/[^/]+$", url):
            raise ConfigError(f"{where}: url {redact_url(url)!r} is not kafka://host:port/topic1,topic2")
        values: dict[str, Any] = {k: str(v) for k, v in table.items()}
        values["format"] = fmt
        return cls(**values)

    @property
    def bootstrap(self) -> str:
        return self.url.split("://", 1)[1].split("/", 1)[0]

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(t for t in self.url.rsplit("/", 1)[1].split(",") if t)

    @property
    def group(self) -> str:
        return self.group_id or f"{self.name}-gwbot-candidates"

    def kafka_config(self, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """confluent-kafka consumer settings, secrets read from the named environment variables now."""
        env = os.environ if environ is None else environ
        conf: dict[str, Any] = {"bootstrap.servers": self.bootstrap, "group.id": self.group,
                                "enable.auto.commit": False, "auto.offset.reset": "earliest",
                                # a dead worker's partitions go to the others after 10 s, not librdkafka's 45 s
                                "session.timeout.ms": 10000, "heartbeat.interval.ms": 1000,
                                # whole Rubin bursts per fetch (alerts with cutouts are ~100 kB)
                                "max.partition.fetch.bytes": 16 * 2**20, "fetch.max.bytes": 64 * 2**20,
                                # the prefetch queue holds ~one batch of such alerts (64 MB): when it is full,
                                # fetch again as soon as the batch is taken, not librdkafka's default 1 s later
                                "fetch.queue.backoff.ms": 20}
        if self.security_protocol:
            conf["security.protocol"] = self.security_protocol
        if self.sasl_mechanism:
            conf["sasl.mechanisms"] = self.sasl_mechanism
        oidc = (self.sasl_mechanism or "").upper() == "OAUTHBEARER"
        if oidc:  # GCN Kafka (BOOM notices): OpenID Connect client credentials, as nasa-gcn/gcn-kafka-python @
            # 0d04f002 : src/gcn_kafka/core.py sets them (token endpoint https://auth.gcn.nasa.gov/oauth2/token)
            conf["sasl.oauthbearer.method"] = "oidc"
            conf["sasl.oauthbearer.token.endpoint.url"] = GCN_TOKEN_URL
        for key, name in (("sasl.oauthbearer.client.id" if oidc else "sasl.username", self.username_env),
                          ("sasl.oauthbearer.client.secret" if oidc else "sasl.password", self.password_env)):
            if name:
                if not env.get(name):
                    raise ConfigError(f"broker {self.name}: environment variable {name} is not set")
                conf[key] = env[name]
        if self.ssl_ca_location:
            conf["ssl.ca.location"] = self.ssl_ca_location
        if self.format is Format.ANTARES and (self.security_protocol or "").upper() == "SASL_SSL":
            # ANTARES's certificate does not name its host; its own client turns the check off
            # (antares-client 2.0.2: antares_client/stream.py _DEFAULT_OPTIONS)
            conf["ssl.endpoint.identification.algorithm"] = "none"
        return conf


GCN_TOKEN_URL = "https://auth.gcn.nasa.gov/oauth2/token"


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)  # Socket Mode for the /gw commands
    signing_secret: str | None = field(default=None, repr=False)  # verifies HTTP-mode requests
    api_url: str = DEFAULT_SLACK_API_URL
    port: int = 3000  # HTTP mode
    edit_every_s: float = 60.0  # a plan's message is edited at most this often (chat.update is Tier 3)


@dataclass(frozen=True)
class HopSettings:
    url: str = DEFAULT_HOP_URL
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    auth: bool = True
    group_id: str | None = None  # default: "<hop user name>-gwbot" (Hopskotch refuses other prefixes)
    post_max_age_s: float = 6 * 3600.0  # older alerts are stored but not posted (a new group's backlog)

    @property
    def url_redacted(self) -> str:
        return redact_url(self.url)


@dataclass(frozen=True)
class ChannelSettings:
    alerts: str | None = "gw-alerts"
    mock: str | None = None
    ops: str | None = None
    notices: str | None = None
    invite_users: tuple[str, ...] = ()
    prefix: str = ""
    mock_prefix: str = "mock-"
    routing: Routing = field(default_factory=Routing)


@dataclass(frozen=True)
class StoreSettings:
    database_url: str = "sqlite:///gwbot.sqlite"
    retention_days: float = 30.0  # old sky-map versions and delivered outbox rows are pruned after this
    max_skymap_mb: float = 1024.0
    stall_seconds: float = 300.0  # an outbox whose oldest pending delivery is older is unhealthy


@dataclass(frozen=True)
class PlanSettings:
    lco_api_url: str = "https://observe.lco.global/api/"
    lco_api_token: str | None = field(default=None, repr=False)
    lco_proposal_id: str | None = None
    lco_ipp_value: float = 1.05
    lco_observation_type: str = "NORMAL"
    approvers: tuple[str, ...] = ()
    expiry_hours: float = 2.0
    follow_seconds: float = 300.0
    galaxy_catalogue: str | None = None
    galaxy_complete_to_mpc: float | None = None
    facility_tables: tuple[dict, ...] = ()
    followup: tuple[FollowupRule, ...] = ()  # [[auto_plans]]: one rule per facility


@dataclass(frozen=True)
class CandidateSettings:
    window_days: float = 7.0  # events whose merger is older get no more candidates
    max_cl: float = 0.9  # candidates outside this credible region are not posted
    min_reliability: float = 0.6  # where the broker gives a real-bogus score
    digest_s: float = 120.0  # at most one candidate digest per event channel this often
    evidence: int = 3  # the best candidates of each digest whose light curve and cutouts are posted; 0: none read
    brokers: tuple[BrokerConfig, ...] = ()


@dataclass(frozen=True)
class CoordinationSettings:
    treasuremap_api_url: str = "https://treasuremap.space/api/v1/"
    treasuremap_api_token: str | None = field(default=None, repr=False)  # set: our pointings are shared
    coverage_seconds: float = 900.0  # how often active events' pointings are read from Treasure Map (and HERMES)
    hermes_api_url: str = "https://hermes.lco.global/api/v0/"
    hermes_api_token: str | None = field(default=None, repr=False)
    hermes_topic: str = "hermes.test"  # change to publish for real
    hermes_authors: str = ""  # the report's authors line
    hermes_submitter: str = ""  # who submits, as HERMES records it (default: gwbot)
    circular_authors: str = ""  # the GCN Circular's authors line (default: hermes_authors)


@dataclass(frozen=True)
class Settings:
    """Every setting, in one section per part of the bot; each part is handed its own section."""

    slack: SlackSettings = field(default_factory=SlackSettings)
    hop: HopSettings = field(default_factory=HopSettings)
    channels: ChannelSettings = field(default_factory=ChannelSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    plans: PlanSettings = field(default_factory=PlanSettings)
    candidates: CandidateSettings = field(default_factory=CandidateSettings)
    coordination: CoordinationSettings = field(default_factory=CoordinationSettings)
    config_file: str | None = None
    output_dir: str = "gwbot-out"
    dry_run: bool = False

    @property
    def posts_to_slack(self) -> bool:
        return bool(self.slack.bot_token) and not self.dry_run

    def replace(self, **flat: Any) -> Settings:
        """A copy with some settings changed, named as in GWBOT_CONFIG's [settings] (``hop_url=...``)."""
        sections: dict[str, dict[str, Any]] = {}
        top: dict[str, Any] = {}
        for name, value in flat.items():
            if name not in FLAT:
                raise ConfigError(f"unknown setting {name!r}")
            section, key = FLAT[name]
            (sections.setdefault(section, {}) if section else top)[key] = value
        changed = {name: dataclasses.replace(getattr(self, name), **values) for name, values in sections.items()}
        return dataclasses.replace(self, **changed, **top)

    def secret_values(self) -> tuple[str, ...]:
        """Every secret in use, for redaction: tokens, passwords, and credentials inside HOP_URL."""
        values = [self.slack.bot_token, self.slack.app_token, self.slack.signing_secret, self.hop.password,
                  self.plans.lco_api_token, self.coordination.treasuremap_api_token,
                  self.coordination.hermes_api_token]
        match = URL_CREDENTIALS.search(self.hop.url)
        if match and ":" in match.group(2):
            values.append(match.group(2).split(":", 1)[1])
        return tuple(v for v in values if v and len(v) >= 4)

    def describe(self) -> dict[str, Any]:
        """Settings for a log line: secrets only say whether they are set."""
        out: dict[str, Any] = {}
        for name, (section, key) in FLAT.items():
            value = getattr(getattr(self, section), key) if section else getattr(self, key)
            if name in SECRET_FIELDS:
                value = "set" if value else "unset"
            elif name == "facility_tables":
                value = [t.get("name") for t in value]
            elif name == "brokers":
                value = [f"{b.name} ({b.format.value}) {redact_url(b.url)}" for b in value]
            elif name == "hop_url":
                value = redact_url(value)
            elif name == "routing":
                value = f"{len(value.routes)} route(s)"
            elif name == "auto_plans":
                value = [rule.name for rule in value]
            out[name] = value
        return out


#: every setting by its flat name (GWBOT_CONFIG's [settings] keys, ``load``'s overrides) -> (section, field)
FLAT: dict[str, tuple[str | None, str]] = {
    **{f"slack_{k}": ("slack", k) for k in ("bot_token", "app_token", "signing_secret", "api_url")},
    "port": ("slack", "port"), "edit_every_s": ("slack", "edit_every_s"),
    **{f"hop_{k}": ("hop", k) for k in ("url", "username", "password", "auth")},
    "group_id": ("hop", "group_id"), "post_max_age_s": ("hop", "post_max_age_s"),
    **{f"{k}_channel": ("channels", k) for k in ("alerts", "mock", "ops", "notices")},
    "invite_users": ("channels", "invite_users"), "channel_prefix": ("channels", "prefix"),
    "mock_channel_prefix": ("channels", "mock_prefix"), "routing": ("channels", "routing"),
    **{k: ("store", k) for k in ("database_url", "retention_days", "max_skymap_mb", "stall_seconds")},
    **{k: ("plans", k) for k in ("lco_api_url", "lco_api_token", "lco_proposal_id", "lco_ipp_value",
                                 "lco_observation_type", "approvers", "follow_seconds", "galaxy_catalogue",
                                 "galaxy_complete_to_mpc", "facility_tables")},
    "auto_plans": ("plans", "followup"),
    "plan_expiry_hours": ("plans", "expiry_hours"),
    **{f"candidate_{k}": ("candidates", k) for k in ("window_days", "max_cl", "min_reliability", "digest_s",
                                                                   "evidence")},
    "brokers": ("candidates", "brokers"),
    **{k: ("coordination", k) for k in ("treasuremap_api_url", "treasuremap_api_token", "coverage_seconds",
                                        "hermes_api_url", "hermes_api_token", "hermes_topic", "hermes_authors",
                                        "hermes_submitter", "circular_authors")},
    **{k: (None, k) for k in ("config_file", "output_dir", "dry_run")},
}


_ENV = {
    "SLACK_BOT_TOKEN": "slack_bot_token",
    "SLACK_APP_TOKEN": "slack_app_token",
    "SLACK_SIGNING_SECRET": "slack_signing_secret",
    "SLACK_API_URL": "slack_api_url",
    "HOP_URL": "hop_url",
    "HOP_USERNAME": "hop_username",
    "HOP_PASSWORD": "hop_password",
    "HOP_AUTH": "hop_auth",
    "GWBOT_GROUP_ID": "group_id",
    "GWBOT_DATABASE_URL": "database_url",
    "GWBOT_ALERTS_CHANNEL": "alerts_channel",
    "GWBOT_MOCK_CHANNEL": "mock_channel",
    "GWBOT_OPS_CHANNEL": "ops_channel",
    "GWBOT_NOTICES_CHANNEL": "notices_channel",
    "GWBOT_INVITE_USERS": "invite_users",
    "GWBOT_CHANNEL_PREFIX": "channel_prefix",
    "GWBOT_CONFIG": "config_file",
    "GWBOT_OUTPUT_DIR": "output_dir",
    "PORT": "port",
    "LCO_API_URL": "lco_api_url",
    "LCO_API_TOKEN": "lco_api_token",
    "LCO_PROPOSAL_ID": "lco_proposal_id",
    "GWBOT_APPROVERS": "approvers",
    "GWBOT_PLAN_EXPIRY_HOURS": "plan_expiry_hours",
    "GWBOT_FOLLOW_SECONDS": "follow_seconds",
    "GWBOT_GALAXY_CATALOGUE": "galaxy_catalogue",
    "GWBOT_GALAXY_COMPLETE_TO": "galaxy_complete_to_mpc",
    "GWBOT_POST_MAX_AGE": "post_max_age_s",
    "GWBOT_MAX_SKYMAP_MB": "max_skymap_mb",
    "GWBOT_RETENTION_DAYS": "retention_days",
    "GWBOT_STALL_SECONDS": "stall_seconds",
    "GWBOT_EDIT_EVERY_SECONDS": "edit_every_s",
    "GWBOT_CANDIDATE_WINDOW_DAYS": "candidate_window_days",
    "GWBOT_CANDIDATE_MAX_CL": "candidate_max_cl",
    "GWBOT_CANDIDATE_MIN_RELIABILITY": "candidate_min_reliability",
    "GWBOT_CANDIDATE_DIGEST_SECONDS": "candidate_digest_s",
    "GWBOT_CANDIDATE_EVIDENCE": "candidate_evidence",
    "GWBOT_CIRCULAR_AUTHORS": "circular_authors",
    "TREASUREMAP_API_URL": "treasuremap_api_url",
    "TREASUREMAP_API_TOKEN": "treasuremap_api_token",
    "GWBOT_COVERAGE_SECONDS": "coverage_seconds",
    "HERMES_API_URL": "hermes_api_url",
    "HERMES_API_TOKEN": "hermes_api_token",
    "HERMES_TOPIC": "hermes_topic",
    "HERMES_AUTHORS": "hermes_authors",
    "HERMES_SUBMITTER": "hermes_submitter",
}

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 3600.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def duration_s(name: str, value: Any) -> float:
    """'6h', '90m', '3600s', '2d' or a bare number of hours, in seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) * 3600.0
    match = _DURATION.match(str(value))
    if not match:
        raise ConfigError(f"{name}={value!r} is not a duration such as 6h, 90m or 2d")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]


def hop_username(hop: HopSettings) -> str | None:
    """The user name of the Hopskotch credential in use: HOP_USERNAME, the URL's, or hop's auth.toml."""
    if hop.username:
        return hop.username
    match = URL_CREDENTIALS.search(hop.url)
    if match:
        return match.group(2).split(":", 1)[0]
    if not hop.auth:
        return None
    try:
        from hop.auth import load_auth, select_matching_auth

        host = hop.url.split("://", 1)[-1].split("/", 1)[0]
        return select_matching_auth(load_auth(), host).username
    except Exception:  # no auth.toml, or no single credential for this host: hop itself will say so
        return None


def consumer_group(hop: HopSettings) -> str:
    """The Kafka consumer group: '<user name>-gwbot' by default; Hopskotch refuses groups without that prefix."""
    user = hop_username(hop)
    if hop.group_id is None:
        return f"{user}-gwbot" if user else "gwbot"
    if user and not hop.group_id.startswith(f"{user}-"):
        raise ConfigError(
            f"GWBOT_GROUP_ID={hop.group_id!r} does not start with '{user}-': Hopskotch only lets the credential "
            f"'{user}' use consumer groups named '{user}-…'. Unset GWBOT_GROUP_ID (the default is '{user}-gwbot') "
            f"or choose a name such as '{user}-{hop.group_id}'.")
    return hop.group_id


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={value!r} is not true/false")


def _as_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(v.strip() for v in str(value).split(",") if v.strip())


def load(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from the TOML file named by GWBOT_CONFIG, then the environment, then ``overrides``."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = overrides.get("config_file") or env.get("GWBOT_CONFIG")
    routing = Routing()
    if config_file:
        try:
            doc = tomllib.loads(Path(config_file).read_text())
        except OSError as exc:
            raise ConfigError(f"GWBOT_CONFIG {config_file}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"GWBOT_CONFIG {config_file}: {exc}") from exc
        known = set(FLAT) - {"routing", "facility_tables", "brokers", "auto_plans"}
        for key, value in doc.get("settings", {}).items():
            if key not in known:
                raise ConfigError(f"GWBOT_CONFIG [settings]: unknown key {key!r}")
            values[key] = value
        routing = Routing.from_toml(doc)
        values["facility_tables"] = tuple(doc.get("facilities", []))
        values["auto_plans"] = tuple(FollowupRule.from_toml(t, f"[[auto_plans]] {i + 1}")
                                     for i, t in enumerate(doc.get("auto_plans", [])))
        values["brokers"] = tuple(BrokerConfig.from_toml(t, f"[[brokers]] {i + 1}")
                                  for i, t in enumerate(doc.get("brokers", [])))
        names = [b.name for b in values["brokers"]]
        if len(set(names)) != len(names):
            raise ConfigError(f"[[brokers]]: names must differ ({', '.join(names)})")
    for env_name, key in _ENV.items():
        if env.get(env_name, "") != "":
            values[key] = env[env_name]
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "hop_auth" in values:
        values["hop_auth"] = _as_bool("HOP_AUTH", values["hop_auth"])
    if "dry_run" in values:
        values["dry_run"] = _as_bool("dry_run", values["dry_run"])
    if "post_max_age_s" in values:
        values["post_max_age_s"] = duration_s("GWBOT_POST_MAX_AGE", values["post_max_age_s"])
    for key, kind in (("port", int), ("plan_expiry_hours", float), ("lco_ipp_value", float),
                      ("follow_seconds", float), ("galaxy_complete_to_mpc", float), ("max_skymap_mb", float),
                      ("retention_days", float), ("stall_seconds", float), ("candidate_window_days", float),
                      ("candidate_max_cl", float), ("candidate_min_reliability", float),
                      ("candidate_digest_s", float), ("coverage_seconds", float), ("edit_every_s", float),
                      ("candidate_evidence", int)):
        if key in values:
            try:
                values[key] = kind(values[key])
            except ValueError:
                raise ConfigError(f"{key}={values[key]!r} is not a number") from None
    for key in ("invite_users", "approvers"):
        if key in values:
            values[key] = _as_list(values[key])
    if not str(values.get("slack_api_url", DEFAULT_SLACK_API_URL)).endswith("/"):
        values["slack_api_url"] = values["slack_api_url"] + "/"
    return Settings().replace(routing=routing, **values)
