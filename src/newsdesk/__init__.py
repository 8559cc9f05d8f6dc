"""newsdesk: a self-hosted news desk for Chinese-language finance and policy news."""

__version__ = "0.1.0"
USER_AGENT = f"newsdesk/{__version__} (+https://github.com/newsdesk/newsdesk; feed reader)"
