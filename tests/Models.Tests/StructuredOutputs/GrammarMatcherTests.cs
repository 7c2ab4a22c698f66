using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;
using Pipeline.Models.Sampling;
using Pipeline.Models.StructuredOutputs;
using static Pipeline.Models.Tests.StructuredOutputs.StructuredTestData;

namespace Pipeline.Models.Tests.StructuredOutputs;

/// <summary>
/// The grammar engine on its own: random walks that pick uniformly among the tokens each mask allows (the harshest
/// sampler: no model preference) end only where EOS is allowed, and every finished output is checked by an independent
/// reference (JsonSchema.Net for schemas, .NET's Regex for regexes and for grammars' languages).
/// </summary>
public class GrammarMatcherTests
{
    static readonly TokenizerVocab Vocab = FixtureVocab();

    /// <summary>Walks the grammar choosing uniformly among allowed tokens until EOS; returns the output text.</summary>
    static string RandomWalk(StructuredOutputsParams p, TokenizerVocab vocab, int seed, int maxTokens = 400)
    {
        var manager = new StructuredOutputManager(vocab);
        var m = manager.NewMatcher(p);
        var rnd = new Random(seed);
        var bytes = new List<byte>();
        for (int step = 0; step < maxTokens; step++)
        {
            var allowed = Allowed(m, vocab);
            Assert.NotEmpty(allowed);
            int t = allowed[rnd.Next(allowed.Count)];
            Assert.True(m.AcceptToken(t), $"token {t} was in the mask but refused");
            if (vocab.IsEos(t))
            {
                Assert.True(m.IsTerminated);
                return Encoding.UTF8.GetString(bytes.ToArray());
            }
            bytes.AddRange(vocab.BytesOf(t)!);
        }
        throw new Xunit.Sdk.XunitException($"seed {seed}: no EOS within {maxTokens} tokens: {Encoding.UTF8.GetString(bytes.ToArray())}");
    }

    [Fact]
    public void SchemaWalksParseAndValidate()
    {
        foreach (var schema in Schemas)
            for (int seed = 0; seed < 40; seed++)
                AssertValid(schema, RandomWalk(new StructuredOutputsParams { Json = schema }, Vocab, seed), $"seed {seed}");
    }

    [Fact]
    public void JsonObjectWalksAreObjects()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            var text = RandomWalk(new StructuredOutputsParams { JsonObject = true }, Vocab, seed, maxTokens: 4000);
            Assert.IsType<JsonObject>(JsonNode.Parse(text));
        }
    }

    [Fact]
    public void RegexWalksMatch()
    {
        foreach (var regex in Regexes)
        {
            var reference = new Regex($"^(?:{regex})\\z");
            for (int seed = 0; seed < 40; seed++)
            {
                var text = RandomWalk(new StructuredOutputsParams { Regex = regex }, Vocab, seed);
                // Regexes count code points (Python's re, as vLLM); .NET counts UTF-16 units, so an astral character
                // is shown to it as one BMP character that the same classes match (none of these regexes names one).
                var bmp = string.Concat(text.EnumerateRunes().Select(r => r.IsBmp ? r.ToString() : "\uE000"));
                Assert.True(reference.IsMatch(bmp), $"/{regex}/ seed {seed}: '{text}' does not match");
            }
        }
    }

    [Fact]
    public void ChoiceWalksAreChoices()
    {
        var seen = new HashSet<string>();
        for (int seed = 0; seed < 60; seed++)
        {
            var text = RandomWalk(new StructuredOutputsParams { Choice = Choices }, Vocab, seed);
            Assert.Contains(text, Choices);
            seen.Add(text);
        }
        Assert.Equal(Choices.Length, seen.Count);
    }

    [Theory]
    [InlineData(LarkGrammar, LarkReference)]
    [InlineData(GbnfGrammar, GbnfReference)]
    public void GrammarWalksAreSentences(string grammar, string reference)
    {
        var r = new Regex($"^(?:{reference})\\z");
        for (int seed = 0; seed < 40; seed++)
        {
            var text = RandomWalk(new StructuredOutputsParams { Grammar = grammar }, Vocab, seed);
            Assert.True(r.IsMatch(text), $"seed {seed}: '{text}' is not a sentence");
        }
    }

    [Fact]
    public void EosOnlyWhereTheGrammarIsComplete()
    {
        var m = new StructuredOutputManager(Vocab).NewMatcher(new StructuredOutputsParams { Regex = "ab|abcd" });
        Assert.False(m.IsAllowed(2));
        Assert.True(m.AcceptToken('a'));
        Assert.False(m.IsAllowed(2));
        Assert.True(m.AcceptToken('b'));
        Assert.True(m.IsAllowed(2));   // "ab" is complete
        Assert.True(m.IsAllowed('c')); // and may go on to "abcd"
        Assert.False(m.IsAllowed('d'));
        Assert.True(m.AcceptToken('c'));
        Assert.False(m.IsAllowed(2));
        Assert.False(m.AcceptToken('x'));
        Assert.True(m.IsFailed);
        Assert.Equal([2], Allowed(m, Vocab)); // a failed matcher only lets the sequence end
    }

    [Fact]
    public void MultiByteTokensAcrossBoundariesAreAllowed()
    {
        var m = new StructuredOutputManager(Vocab).NewMatcher(new StructuredOutputsParams { Json = """{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}""" });
        var allowed = Allowed(m, Vocab).Select(t => Encoding.UTF8.GetString(Vocab.BytesOf(t) ?? [])).ToHashSet();
        Assert.Contains("{\"", allowed);
        Assert.Contains("{", allowed);
        Assert.DoesNotContain("{}", allowed); // name is required
        Assert.DoesNotContain("[", allowed);
    }

    [Theory]
    [InlineData("""{"type":"object","not":{"required":["a"]}}""", "not")]
    [InlineData("""{"type":"object","patternProperties":{"^a":{"type":"string"}}}""", "patternProperties")]
    [InlineData("""{"type":"number","multipleOf":3}""", "multipleOf")]
    [InlineData("""{"type":"array","uniqueItems":true}""", "uniqueItems")]
    [InlineData("""{"type":"object","minProperties":1}""", "minProperties")]
    [InlineData("""{"allOf":[{"type":"string"},{"maxLength":3}]}""", "allOf")]
    [InlineData("""{"$ref":"https://example.com/s.json"}""", "$ref")]
    [InlineData("""{"type":"string","pattern":"(?=a)b"}""", "regex lookaround")]
    [InlineData("""{"type":"integer","minimum":5,"maximum":4}""", "minimum/maximum")]
    public void UnsupportedSchemaFeaturesAreNamed(string schema, string feature)
    {
        var e = Assert.Throws<GrammarException>(() => new StructuredOutputsParams { Json = schema }.Compile());
        Assert.Equal(feature, e.Feature);
    }

    [Theory]
    [InlineData("(a)\\1", "regex backreferences")]
    [InlineData("\\bword", "regex anchors")]
    [InlineData("\\p{L}+", "regex unicode classes")]
    [InlineData("a(?<=b)", "regex lookaround")]
    public void UnsupportedRegexFeaturesAreNamed(string regex, string feature)
    {
        var e = Assert.Throws<GrammarException>(() => new StructuredOutputsParams { Regex = regex }.Compile());
        Assert.Equal(feature, e.Feature);
    }

    [Theory]
    [InlineData("start: start \"a\" | \"a\"", "left recursion")]
    [InlineData("start: WORD\n%ignore \" \"", "%ignore")]
    [InlineData("root ::= other", "grammar")]
    public void UnsupportedGrammarFeaturesAreNamed(string grammar, string feature)
    {
        var e = Assert.Throws<GrammarException>(() => new StructuredOutputsParams { Grammar = grammar }.Compile());
        Assert.Equal(feature, e.Feature);
    }

    [Fact]
    public void CompiledOncePerDistinctValue()
    {
        var a = new StructuredOutputsParams { Json = PersonSchema }.Compile();
        var b = new StructuredOutputsParams { Json = PersonSchema }.Compile();
        Assert.Same(a, b);
        var manager = new StructuredOutputManager(Vocab);
        Assert.Same(manager.CompiledFor(new StructuredOutputsParams { Regex = "x+" }), manager.CompiledFor(new StructuredOutputsParams { Regex = "x+" }));
    }
}
