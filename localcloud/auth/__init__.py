"""Who may use a local cloud: its instance key and the keys it issued, checked on every request.

``credentials``: the keys; ``sigv4``: verifying a signature; ``gate``: the front door's checks
(Host, browsers, signatures) and AWS's errors for a refusal; ``client``: signing the local
cloud's own admin calls.
"""
