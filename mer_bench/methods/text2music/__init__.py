"""Won, Salamon, Bryan, Mysore & Serra (ISMIR 2021): emotion embedding spaces for text-to-music.

Modules, one job each: ``text_encoder`` (which sentence encoder, found on disk
only) and ``tiny_text`` (a file-free random one for tests), ``frontend``
(16 kHz log-mels, training crops, evaluation chunks), ``music_encoder`` (the
short-chunk CNN), ``heads`` (the projection MLPs), ``losses`` (cosine triplet
loss, similarity-weighted negatives), ``labels`` (vocabularies, word vectors,
text -> music pairing), ``strategies`` (the paper's six ways of relating the
modalities), ``batches`` (training batches), ``lit`` (the Lightning module)
and ``method`` (the registered ``text2music``). Importing the package registers
the method; ``transformers`` is imported only when a text encoder is loaded.
"""

from mer_bench.plugins import import_submodules

import_submodules(__name__)
