"""The Django project the benchmark servers run under Daphne.

``BENCH_SERVER`` selects what is served (``ours``, ``bare`` or ``eventstream``),
``BENCH_LAYER`` the channel layer (``memory`` or ``redis``) and ``BENCH_PREFIX`` the
channel-layer / Redis prefix, so runs never see each other's messages.
"""
