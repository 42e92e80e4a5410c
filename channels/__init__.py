"""Notice channels: signed webhooks, 企业微信 and 钉钉 group robots, e-mail over SMTP; and the delivery policy."""
