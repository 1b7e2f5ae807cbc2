"""Alerting configuration: the ``alerting`` section (channels; rules, routes, silences and grouping
are added here as the alert engine grows).

Channels hold Airflow connection ids and secret references only; the transport settings (webhook
URLs, tokens, SMTP passwords) live in the Airflow connections.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from dataops_jobs.config.types import ConnId, EmailAddress, FieldProblem, SecretRef, StrictModel

__all__ = [
    "AlertingConfig",
    "ChannelsConfig",
    "EmailChannelConfig",
    "SlackChannelConfig",
    "TeamsChannelConfig",
    "WebhookChannelConfig",
]


class SlackChannelConfig(StrictModel):
    """Slack through the Airflow Slack provider: an incoming-webhook connection, or the Web API."""

    enabled: bool = True
    conn_id: ConnId = "slack_default"
    channel: str | None = None
    use_web_api: bool = False
    test_channel: str | None = None

    @model_validator(mode="after")
    def _web_api_needs_channel(self) -> SlackChannelConfig:
        # An incoming webhook is bound to its channel; the Web API must be told where to post.
        if self.enabled and self.use_web_api and not self.channel:
            raise FieldProblem(
                "channel", "expected a channel (such as #dataops-alerts) when use_web_api is true"
            )
        return self


class EmailChannelConfig(StrictModel):
    """Email through an Airflow SMTP connection."""

    enabled: bool = True
    conn_id: ConnId = "smtp_default"
    recipients: list[EmailAddress] = Field(default_factory=list)
    from_email: EmailAddress | None = None
    subject_prefix: str = "[DataOps]"

    @model_validator(mode="after")
    def _enabled_needs_recipients(self) -> EmailChannelConfig:
        if self.enabled and not self.recipients:
            raise FieldProblem(
                "recipients", "expected at least one recipient when the email channel is enabled"
            )
        return self


class TeamsChannelConfig(StrictModel):
    """Microsoft Teams through a Workflows webhook held in an Airflow connection."""

    enabled: bool = True
    conn_id: ConnId = "teams_default"


class WebhookChannelConfig(StrictModel):
    """A generic JSON webhook; payloads are HMAC-SHA256 signed when a signing secret is referenced."""

    enabled: bool = True
    conn_id: ConnId = "dataops_webhook"
    signing_secret: SecretRef | None = None


class ChannelsConfig(StrictModel):
    """The built-in channels; a channel left out (None) is not configured."""

    slack: SlackChannelConfig | None = None
    email: EmailChannelConfig | None = None
    teams: TeamsChannelConfig | None = None
    webhook: WebhookChannelConfig | None = None

    def enabled_names(self) -> list[str]:
        """Names of the channels that are configured and enabled, in declaration order."""
        names = ("slack", "email", "teams", "webhook")
        return [name for name in names if (channel := getattr(self, name)) is not None and channel.enabled]


class AlertingConfig(StrictModel):
    """The ``alerting`` section: global switch, repeat interval per fingerprint, channels."""

    enabled: bool = True
    rate_limit_minutes: int = Field(default=15, ge=0)
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
