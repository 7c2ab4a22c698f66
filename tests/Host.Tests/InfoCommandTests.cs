namespace Pipeline.Host.Tests;

public class InfoCommandTests
{
    [Fact]
    public void ModelsSupportedPrintsEveryArchitecture()
    {
        var (exit, stdout, _) = PipelineProcess.Run("models", "--supported");
        Assert.Equal(0, exit);
        foreach (var a in new[] { "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM" }) Assert.Contains(a, stdout);
    }

    [Fact]
    public void EnvPrintsVersionsAndDevices()
    {
        var (exit, stdout, stderr) = PipelineProcess.Run("env", "--device", "cpu");
        Assert.True(exit == 0, stderr);
        Assert.Contains("TorchSharp:        0.107.0", stdout);
        Assert.Contains("libtorch:", stdout);
        Assert.Contains("cpu:", stdout);
        Assert.Contains(".NET 10", stdout);
    }

    [Fact]
    public void HelpListsEveryOptionWithDefaults()
    {
        var (exit, stdout, _) = PipelineProcess.Run("generate", "--help");
        Assert.Equal(0, exit);
        foreach (var o in new[] { "--prompt", "--prompt-ids", "--max-tokens", "--temperature", "--top-p", "--top-k", "--seed", "--ignore-eos", "--logprobs", "--device", "--dtype", "--output", "--load-format", "--hf-overrides", "--generation-config", "--revision" })
            Assert.Contains(o, stdout);
        Assert.Contains("(default: 16)", stdout);
    }

    [Fact]
    public void UnknownCommandIsAUsageError()
    {
        var (exit, _, stderr) = PipelineProcess.Run("frobnicate");
        Assert.Equal(2, exit);
        Assert.Contains("unknown command 'frobnicate'", stderr);
    }
}
