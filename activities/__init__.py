"""Every side effect a workflow asks for. interface.py names each activity and its input and output models
(workflows import only that); appends.py, checkpoints.py and bulletins.py implement them as methods on
classes holding their injected dependencies, registered by worker.py."""
