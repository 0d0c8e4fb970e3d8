import sys

from tinygan.cli import main

sys.exit(main())
