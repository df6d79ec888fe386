"""Executing specs: plans from requests, sweep order, resume, executors."""
