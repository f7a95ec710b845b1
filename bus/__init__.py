"""The bus: ZeroMQ wire format, nodes, remote proxies and security."""
