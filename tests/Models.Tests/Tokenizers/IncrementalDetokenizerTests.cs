using Pipeline.Models.Tokenizers;

namespace Pipeline.Models.Tests.Tokenizers;

public class IncrementalDetokenizerTests
{
    public static TheoryData<string, int> Cases => Fixtures.AllCases();

    [Theory]
    [MemberData(nameof(Cases))]
    public void StreamingGeneratedIdsReproducesFullDecode(string name, int index)
    {
        var c = Fixtures.Case(name, index);
        var tok = Fixtures.Tokenizer(name);
        var detok = new IncrementalDetokenizer(tok, [], skipSpecialTokens: false);
        var text = new System.Text.StringBuilder();
        foreach (int id in c.IdsWithoutSpecial)
        {
            string delta = detok.Append(id);
            Assert.DoesNotContain('\uFFFD', delta);
            text.Append(delta);
        }
        Assert.Equal(c.Decode, text.ToString());
        Assert.Equal(c.Decode, detok.Text);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void StreamingSkippingSpecialTokensMatchesDecodeSkipSpecial(string name, int index)
    {
        var c = Fixtures.Case(name, index);
        var detok = new IncrementalDetokenizer(Fixtures.Tokenizer(name), [], skipSpecialTokens: true);
        var text = string.Concat(c.IdsWithSpecial.Select(detok.Append));
        Assert.Equal(c.DecodeSkipSpecial, text);
    }

    [Theory]
    [InlineData("llama2")]
    [InlineData("qwen2_5")]
    [InlineData("llama3_1")]
    public void ContinuationAfterPromptMatchesDecodeOfGeneratedPart(string name)
    {
        var tok = Fixtures.Tokenizer(name);
        int[] prompt = tok.Encode("Question: what is this?");
        int[] generated = tok.Encode(" Answer: 😀 中文 and more words.", addSpecialTokens: false);
        var detok = new IncrementalDetokenizer(tok, prompt, skipSpecialTokens: true);
        string streamed = string.Concat(generated.Select(detok.Append));
        string full = tok.Decode([.. prompt, .. generated], skipSpecialTokens: true);
        string promptText = tok.Decode(prompt, skipSpecialTokens: true);
        Assert.Equal(full[promptText.Length..], streamed);
    }

    [Fact]
    public void IncompleteUtf8IsHeldUntilComplete()
    {
        var tok = Fixtures.Tokenizer("llama2");
        // "中" as three byte-fallback tokens.
        int[] bytes = [tok.TokenToId("<0xE4>")!.Value, tok.TokenToId("<0xB8>")!.Value, tok.TokenToId("<0xAD>")!.Value];
        var detok = new IncrementalDetokenizer(tok, [1], skipSpecialTokens: true);
        Assert.Equal("", detok.Append(bytes[0]));
        Assert.Equal("", detok.Append(bytes[1]));
        Assert.Equal("中", detok.Append(bytes[2]));
    }
}
