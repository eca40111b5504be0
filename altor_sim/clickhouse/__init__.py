"""The simulated company's ClickHouse: the request-log loader and a loopback HTTP double."""
