"""Trades and quotes into 1-minute bars with order flow (issue 14).

``frame``      the canonical trade frame every reader produces, batch by batch
``readers``    per-vendor layouts: how to sniff a file and how to turn a raw batch into trades
``aggregate``  trades -> per-minute partial aggregates -> bars; partials merge exactly in any order
"""
