"""`python -m model ...`: the offline tools' command line (cohort.cli), kept under the name users know.

Never shipped in the function (infra.build leaves every `__main__.py` out).
"""

import sys

from cohort.cli import main

sys.exit(main())
