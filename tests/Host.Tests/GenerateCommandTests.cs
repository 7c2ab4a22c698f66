using System.Text.Json;

namespace Pipeline.Host.Tests;

public class GenerateCommandTests
{
    [Fact]
    public void JsonOutputMatchesTransformersForEveryPromptInOrder()
    {
        var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(PipelineProcess.Fixture("qwen3-qknorm"), "expected.json"))).RootElement.GetProperty("prompts");
        var args = new List<string> { "generate", PipelineProcess.Fixture("qwen3-qknorm"), "--dtype", "float32", "--temperature", "0", "--max-tokens", "16", "--ignore-eos", "--logprobs", "3", "--output", "json" };
        foreach (var p in expected.EnumerateArray()) { args.Add("--prompt-ids"); args.Add(string.Join(",", p.GetProperty("prompt_token_ids").EnumerateArray().Select(x => x.GetInt32()))); }
        var (exit, stdout, stderr) = PipelineProcess.Run(args.ToArray());
        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.GetArrayLength(), lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            var line = JsonDocument.Parse(lines[i]).RootElement;
            var exp = expected[i];
            Assert.Equal(exp.GetProperty("prompt_token_ids").EnumerateArray().Select(x => x.GetInt32()), line.GetProperty("prompt_token_ids").EnumerateArray().Select(x => x.GetInt32()));
            Assert.Equal(exp.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()), line.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()));
            Assert.Equal("", line.GetProperty("text").GetString());
            Assert.Equal("length", line.GetProperty("finish_reason").GetString());
            var lps = line.GetProperty("logprobs");
            Assert.Equal(16, lps.GetArrayLength());
            var first = lps[0].EnumerateObject().ToList();
            Assert.Equal(3, first.Count);
            var tok = exp.GetProperty("token_ids")[0].GetInt32().ToString();
            Assert.Equal(exp.GetProperty("logprobs")[0].GetDouble(), first.Single(p => p.Name == tok).Value.GetDouble(), 1e-3);
        }
    }

    [Fact]
    public void EosStopsWithFinishReasonStop()
    {
        // Greedy output of the fixture is known; declaring its 3rd token as a stop id must end there with "stop".
        var exp = JsonDocument.Parse(File.ReadAllText(Path.Combine(PipelineProcess.Fixture("llama"), "expected.json"))).RootElement.GetProperty("prompts")[0];
        var ids = string.Join(",", exp.GetProperty("prompt_token_ids").EnumerateArray().Select(x => x.GetInt32()));
        var third = exp.GetProperty("token_ids")[2].GetInt32();
        var overrides = $"{{\"eos_token_id\": {third}}}";
        var (exit, stdout, stderr) = PipelineProcess.Run("generate", PipelineProcess.Fixture("llama"), "--dtype", "float32", "--temperature", "0",
            "--max-tokens", "16", "--prompt-ids", ids, "--output", "json", "--hf-overrides", overrides, "--generation-config", "vllm");
        Assert.True(exit == 0, stderr);
        var line = JsonDocument.Parse(stdout).RootElement;
        var got = line.GetProperty("token_ids").EnumerateArray().Select(x => x.GetInt32()).ToList();
        Assert.True(got.Count <= 3);
        Assert.Equal(third, got[^1]);
        Assert.Equal("stop", line.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public void SeededSamplingReproduces()
    {
        string[] args = ["generate", PipelineProcess.Fixture("llama"), "--dtype", "float32", "--temperature", "0.8", "--top-p", "0.9", "--top-k", "50",
            "--seed", "7", "--max-tokens", "12", "--ignore-eos", "--prompt-ids", "5,6,7", "--prompt-ids", "8,9"];
        var a = PipelineProcess.Run(args);
        var b = PipelineProcess.Run(args);
        Assert.True(a.Exit == 0, a.Stderr);
        Assert.Equal(a.Stdout, b.Stdout);
    }

    [Theory]
    [InlineData("not-a-model-dir-xyz", "was not found")]
    public void MissingModelIsOneClearLineAndNonZeroExit(string model, string message)
    {
        var (exit, stdout, stderr) = PipelineProcess.Run("generate", model, "--prompt-ids", "1,2");
        Assert.NotEqual(0, exit);
        Assert.Contains(message, stderr);
        Assert.StartsWith("error: ", stderr);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void CorruptWeightsExitNonZeroNamingTheFile()
    {
        var dir = Directory.CreateTempSubdirectory("bad").FullName;
        foreach (var f in Directory.GetFiles(PipelineProcess.Fixture("llama"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var st = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(st);
        File.WriteAllBytes(st, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var (exit, _, stderr) = PipelineProcess.Run("generate", dir, "--prompt-ids", "1,2");
        Assert.Equal(1, exit);
        Assert.Contains("truncated", stderr);
        Assert.Contains(st, stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public void UnknownArchitectureExitNonZeroPointingToSupportedList()
    {
        var dir = Directory.CreateTempSubdirectory("arch").FullName;
        foreach (var f in Directory.GetFiles(PipelineProcess.Fixture("llama"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        File.WriteAllText(Path.Combine(dir, "config.json"), File.ReadAllText(Path.Combine(dir, "config.json")).Replace("LlamaForCausalLM", "FancyNewForCausalLM"));
        var (exit, _, stderr) = PipelineProcess.Run("generate", dir, "--prompt-ids", "1,2");
        Assert.Equal(1, exit);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("'FancyNewForCausalLM' is not supported", line);
        Assert.Contains("pipeline models --supported", line);
    }

    [Theory]
    [InlineData("--temperature", "-1", "temperature")]
    [InlineData("--top-p", "1.5", "top_p")]
    [InlineData("--max-tokens", "abc", "--max-tokens must be an integer")]
    [InlineData("--dtype", "int3", "--dtype must be one of")]
    [InlineData("--device", "tpu", "--device must be cpu, cuda or cuda:N")]
    [InlineData("--prompt-ids", "1,x", "'x' is not a token id")]
    [InlineData("--prompt-ids", "1,99999", "out of vocabulary")]
    [InlineData("--bogus", "1", "unknown option --bogus")]
    public void BadOptionsAreNamed(string option, string value, string message)
    {
        var args = new List<string> { "generate", PipelineProcess.Fixture("llama"), option, value };
        if (option != "--prompt-ids") args.AddRange(["--prompt-ids", "1,2"]);
        var (exit, _, stderr) = PipelineProcess.Run(args.ToArray());
        Assert.NotEqual(0, exit);
        Assert.Contains(message, stderr);
    }

    [Fact]
    public void TextPromptWithoutTokenizerIsRefusedClearly()
    {
        var (exit, _, stderr) = PipelineProcess.Run("generate", PipelineProcess.Fixture("llama"), "--prompt", "hello");
        Assert.NotEqual(0, exit);
        Assert.Contains("--prompt-ids", stderr);
    }
}
