namespace Pipeline.Models.Tests.Tokenizers;

/// <summary>Every recorded case of every real tokenizer must match Hugging Face exactly.</summary>
public class HfTokenizerFixtureTests
{
    public static TheoryData<string, int> Cases => Fixtures.AllCases();
    public static TheoryData<string> Names => Fixtures.AllNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodeWithSpecialTokens(string name, int index)
    {
        var c = Fixtures.Case(name, index);
        Assert.Equal(c.IdsWithSpecial, Fixtures.Tokenizer(name).Encode(c.Text, addSpecialTokens: true));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodeWithoutSpecialTokens(string name, int index)
    {
        var c = Fixtures.Case(name, index);
        Assert.Equal(c.IdsWithoutSpecial, Fixtures.Tokenizer(name).Encode(c.Text, addSpecialTokens: false));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeWithoutSpecialIds(string name, int index)
    {
        var c = Fixtures.Case(name, index);
        Assert.Equal(c.Decode, Fixtures.Tokenizer(name).Decode(c.IdsWithoutSpecial));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeWithSpecialIds(string name, int index)
    {
        var c = Fixtures.Case(name, index);
        Assert.Equal(c.DecodeWithSpecial, Fixtures.Tokenizer(name).Decode(c.IdsWithSpecial));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeSkippingSpecialTokens(string name, int index)
    {
        var c = Fixtures.Case(name, index);
        Assert.Equal(c.DecodeSkipSpecial, Fixtures.Tokenizer(name).Decode(c.IdsWithSpecial, skipSpecialTokens: true));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void SpecialTokenIdsAndVocabSizeMatch(string name)
    {
        var f = Fixtures.File(name);
        var tok = Fixtures.Tokenizer(name);
        Assert.Equal(f.BosTokenId, tok.BosTokenId);
        Assert.Equal(f.EosTokenId, tok.EosTokenId);
        Assert.Equal(f.VocabSize, tok.VocabSize);
        if (tok.EosTokenId is int eos) Assert.Contains(eos, tok.SpecialTokenIds);
    }
}
