"""A module that leaves a thread running when imported: a template must refuse to fork."""

from __future__ import annotations

import threading
import time

threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
