"""Active/active evidence: separate driver processes, one share, one lock
backend (etcd, redis or tooz file locks), racing on the same objects.

``worker`` runs one process's randomized operations and journals each;
``model`` replays the journal into the exact expected state of the share
and checks the files against it; ``test_race`` runs the workers.
"""
