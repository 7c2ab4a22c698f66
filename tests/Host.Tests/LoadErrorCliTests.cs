using Pipeline.Models.Tests.Loading;

namespace Pipeline.Host.Tests;

/// <summary>Each broken-checkpoint case through the real CLI: one clear line on stderr and a non-zero exit.</summary>
public class LoadErrorCliTests
{
    static string Copy()
    {
        var dir = Directory.CreateTempSubdirectory("broken").FullName;
        foreach (var f in Directory.GetFiles(PipelineProcess.Fixture("llama"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    static void Rewrite(string dir, Func<List<(string Name, long[] Shape, float[] Data)>, IEnumerable<(string, long[], float[])>> edit)
    {
        var path = Path.Combine(dir, "model.safetensors");
        var tensors = SafetensorsTestWriter.ReadAll(path);
        SafetensorsTestWriter.Write(path, edit(tensors).ToList());
    }

    static void AssertFails(string dir, params string[] expected)
    {
        var (exit, stdout, stderr) = PipelineProcess.Run("generate", dir, "--prompt-ids", "1,2,3", "--dtype", "float32");
        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith("error: ", stderr);
        foreach (var e in expected) Assert.Contains(e, stderr);
    }

    [Fact]
    public void MissingWeight() { var d = Copy(); Rewrite(d, t => t.Where(x => x.Name != "model.norm.weight")); AssertFails(d, "missing weight 'model.norm.weight'"); }

    [Fact]
    public void UnexpectedWeight() { var d = Copy(); Rewrite(d, t => t.Append(("extra.weight", [1L], [0f]))); AssertFails(d, "unexpected weight", "extra.weight"); }

    [Fact]
    public void ShapeMismatch() { var d = Copy(); Rewrite(d, t => t.Select(x => x.Name == "model.norm.weight" ? (x.Name, new long[] { 8 }, x.Data.Take(8).ToArray()) : x)); AssertFails(d, "model.norm.weight", "[8]", "[64]"); }

    [Fact]
    public void CorruptHeader()
    {
        var d = Copy();
        var p = Path.Combine(d, "model.safetensors");
        var b = File.ReadAllBytes(p);
        b[12] = (byte)'}';
        File.WriteAllBytes(p, b);
        AssertFails(d, "corrupt", p);
    }

    [Fact]
    public void ModelIdNotInCacheNamesWhereItLooked()
    {
        var (exit, _, stderr) = PipelineProcess.Run("generate", "some-org/some-model", "--prompt-ids", "1");
        Assert.Equal(1, exit);
        Assert.Contains("models--some-org--some-model", stderr);
        Assert.Contains("Looked in:", stderr);
    }
}

public class TokenizeCliTests
{
    static string Tok(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers", name);

    [Fact]
    public void TokenizePrintsOneJsonLinePerTextInOrder()
    {
        var (exit, stdout, stderr) = PipelineProcess.Run("tokenize", Tok("qwen2_5"), "--text", "Hello, world!", "--text", "中文");
        Assert.True(exit == 0, stderr);
        var lines = stdout.Trim().Split('\n');
        Assert.Equal("{\"ids\":[9707,11,1879,0]}", lines[0]);
        Assert.Equal(2, lines.Length);
    }

    [Fact]
    public void MessagesAreRenderedWithTheModelsTemplateAndTokenized()
    {
        var f = Path.GetTempFileName();
        File.WriteAllText(f, """[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi!"}]""");
        var (exit, stdout, stderr) = PipelineProcess.Run("tokenize", Tok("qwen2_5"), "--messages", f);
        Assert.True(exit == 0, stderr);
        var doc = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n", doc.GetProperty("prompt").GetString());
        Assert.Equal(151644, doc.GetProperty("ids")[0].GetInt32());
    }

    [Fact]
    public void DetokenizeRefusesUnknownIds()
    {
        var ok = PipelineProcess.Run("detokenize", Tok("gpt2"), "--ids", "15496,11,995");
        Assert.Equal("Hello, world", ok.Stdout.Trim());
        var bad = PipelineProcess.Run("detokenize", Tok("gpt2"), "--ids", "9999999");
        Assert.NotEqual(0, bad.Exit);
        Assert.Contains("9999999", bad.Stderr);
    }
}

public class ServeOptionTests
{
    [Fact]
    public void TaskMustBeOneTheArchitectureSupports()
    {
        var (exit, _, stderr) = PipelineProcess.Run("serve", PipelineProcess.Fixture("llama"), "--task", "embed", "--port", "0");
        Assert.Equal(2, exit);
        Assert.Contains("--task embed: LlamaForCausalLM supports generate", stderr);
        var help = PipelineProcess.Run("serve", "--help");
        Assert.Equal(0, help.Exit);
        foreach (var o in new[] { "--host", "--port", "--served-model-name", "--api-key", "--max-model-len", "--dtype", "--device", "--task", "--override-pooler-config", "--max-num-seqs", "--gpu-memory-utilization", "--shutdown-timeout", "--config" })
            Assert.Contains(o, help.Stdout);
        Assert.Contains("(default: 8000)", help.Stdout);
    }
}
