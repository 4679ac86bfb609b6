"""Won, Salamon, Bryan, Mysore & Serra (ISMIR 2021): emotion embedding spaces for text-to-music.

Modules, one job each: ``text_encoder`` (which sentence encoder, found on disk
only), ``text_backbone`` (the loaded transformer) and ``tiny_text`` (a
file-free random one for tests), ``frontend`` (16 kHz log-mels, training
crops, evaluation chunks), ``music_encoder`` (the short-chunk CNN), ``heads``
(the projection MLPs), ``losses`` (cosine triplet loss, similarity-weighted
negatives), ``labels`` (vocabularies, word vectors, text -> music pairing),
``strategies`` (the paper's six ways of relating the modalities), ``batches``
(training batches), ``lit`` (the Lightning module) and ``method`` (the
registered ``text2music``). Importing the package imports only ``method`` and
registers the method; torch and Lightning are imported when it is fitted,
``transformers`` when a text encoder is loaded.
"""

from mer_bench.methods.text2music.method import Text2Music, Text2MusicParams

__all__ = ["Text2Music", "Text2MusicParams"]
