"""Helpers for testing realtime code: capture what is published, run a real server, and
an Inngest server double (``from django_inngest_realtime.testing.inngest_server import
InngestServerDouble``; the ``inngest_server`` pytest fixture comes from the opt-in plugin
``django_inngest_realtime.testing.pytest_plugin``)."""
