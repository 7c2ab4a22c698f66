namespace Pipeline.Models.Tokenizers;

/// <summary>
/// A model that tokenizes a whole run of text between added tokens itself (normalization and pre-tokenization
/// included), told whether the run starts the input: SentencePiece adds its dummy prefix only there when legacy is off.
/// </summary>
internal interface ISegmentTokenizer
{
    void Tokenize(string text, bool atStart, List<int> ids);
}
