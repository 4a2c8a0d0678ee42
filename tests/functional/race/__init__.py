# Copyright 2026 cinder-ext developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Active/active evidence: separate driver processes, one share, one lock
backend (etcd, redis or tooz file locks), racing on the same objects.

``worker`` runs one process's randomized operations and journals each
(``service`` builds its driver, ``probe`` records its storage calls and
the trail a SIGKILL leaves); ``model`` holds the journal and content
patterns; ``checker`` replays the journal into the exact expected state
of the share and checks the files against it; ``harness`` starts, kills
and checks workers for ``test_race`` and the soak (``soak``,
``tools/soak``).
"""
