"""KMS hosts: registry (hosts), polling, probing, notifications, status reports, DNS discovery."""
