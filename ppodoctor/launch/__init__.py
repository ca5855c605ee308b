"""The launch of a training script: a command line (command.py) or a shell launcher (shell.py) read
into Launch records (model.py), with the accelerate and DeepSpeed configurations it reads (configs.py).
Nothing here imports accelerate, DeepSpeed or torch; bashlex and PyYAML load only when a launcher or a
YAML is read. This package's __init__ imports nothing, so a rule's import of model.py costs `check` little.
"""
