"""Tshop Reserve's customer notifier: a Temporal activity worker sending KakaoTalk AlimTalk messages."""
