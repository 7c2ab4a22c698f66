using Pipeline.Models.Pooling.Conversion;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Models.Tests.Tokenizers;

/// <summary>Sequence pairs through a BERT TemplateProcessing post-processor: [CLS] a [SEP] b [SEP], b typed 1.</summary>
public class PairEncodingTests
{
    [Fact]
    public void BertPairTemplateJoinsAndTypesTheSecondText()
    {
        var dir = Directory.CreateTempSubdirectory("berttok").FullName;
        string[] vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "there"];
        BertTokenizerFiles.Write(dir, vocab, lowercase: true, modelMaxLength: 32);
        var tok = HfTokenizer.Load(dir);
        Assert.Equal([2, 5, 3], tok.Encode("Hello"));
        var (ids, types) = tok.EncodePair("Hello", "world there");
        Assert.Equal([2, 5, 3, 6, 7, 3], ids);
        Assert.Equal([0, 0, 0, 1, 1, 1], types);
    }

    [Fact]
    public void WithoutAPairTemplateTheTextsAreConcatenated()
    {
        var tok = HfTokenizer.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers", "gpt2"));
        var (ids, types) = tok.EncodePair("Hello", " world");
        Assert.Equal(tok.Encode("Hello", false).Concat(tok.Encode(" world", false)), ids);
        Assert.Equal(ids.Length, types.Length);
    }
}
