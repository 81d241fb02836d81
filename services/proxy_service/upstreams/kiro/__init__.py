"""Kiro accounts (AWS CodeWhisperer / Amazon Q): the upstream that answers in AWS event-stream frames."""
