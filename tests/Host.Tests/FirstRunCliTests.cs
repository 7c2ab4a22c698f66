using System.Net;
using System.Net.Sockets;
using Pipeline.Models.Registry;

namespace Pipeline.Host.Tests;

/// <summary>What a new user meets first on the command line (issue 15: points 1, 2, 4 and 5).</summary>
public class FirstRunCliTests
{
    [Fact]
    public void ServeOnATakenPortPrintsOneErrorLineAndExits1()
    {
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            int port = ((IPEndPoint)taken.LocalEndpoint).Port;
            var (exit, stdout, stderr) = PipelineProcess.Run("serve", "--port", port.ToString());
            Assert.Equal(1, exit);
            var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.StartsWith("error:", lines[0]);
            Assert.Contains($"127.0.0.1:{port}", lines[0]);
            Assert.Contains("--port", lines[0]);
            Assert.DoesNotContain("   at ", stdout + stderr);
        }
        finally { taken.Stop(); }
    }

    [Theory]
    [InlineData("tokenize", "pipeline-tiny-en", "--text", "The whale")]
    [InlineData("detokenize", "pipeline-tiny-en", "--ids", "605,1296")]
    [InlineData("generate", "pipeline-tiny-en", "--prompt", "The whale", "--max-tokens", "2", "--temperature", "0")]
    public void TheBuiltInModelCanBeNamed(params string[] args)
    {
        var (exit, stdout, stderr) = PipelineProcess.Run(args);
        Assert.True(exit == 0, stderr);
        Assert.NotEmpty(stdout.Trim());
    }

    [Fact]
    public void NamingTheBuiltInModelGivesTheSameTokensAsLeavingItOut()
    {
        var named = PipelineProcess.Run("tokenize", "pipeline-tiny-en", "--text", "The whale");
        var omitted = PipelineProcess.Run("tokenize", "--text", "The whale");
        Assert.Equal(0, named.Exit);
        Assert.Equal(omitted.Stdout, named.Stdout);
    }

    [Theory]
    [InlineData("serve")]
    [InlineData("generate")]
    [InlineData("tokenize")]
    [InlineData("detokenize")]
    [InlineData("embed")]
    public void UsageShowsModelAsOptional(string command)
    {
        var (exit, stdout, _) = PipelineProcess.Run(command, "--help");
        Assert.Equal(0, exit);
        Assert.StartsWith($"usage: pipeline {command} [MODEL] [options]", stdout);
    }

    [Fact]
    public void ModelNotFoundMentionsTheBuiltInModel()
    {
        var (exit, _, stderr) = PipelineProcess.Run("tokenize", "no-such-model-dir", "--text", "x");
        Assert.Equal(1, exit);
        var first = stderr.Split('\n')[0];
        Assert.StartsWith("error:", first);
        Assert.Contains("no-such-model-dir", first);
        Assert.Contains("pipeline-tiny-en", first);
    }

    [Fact]
    public void ModelsSupportedPrintsBothRegistriesAndEndsWithANewline()
    {
        var (exit, stdout, _) = PipelineProcess.Run("models", "--supported");
        Assert.Equal(0, exit);
        Assert.EndsWith("\n", stdout);
        // A row names an architecture first, or (vLLM's spelling first) says "(as Name)" for the registered name.
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0])
            .Concat(System.Text.RegularExpressions.Regex.Matches(stdout, @"\(as (\w+)\)").Select(m => m.Groups[1].Value)).ToHashSet();
        foreach (var e in ModelRegistry.BuiltIn) Assert.Contains(e.Architecture, rows);
        Assert.Contains("--runner pooling", stdout);
    }

    [Fact]
    public void DetokenizeBadIdsNamesIds()
    {
        var (exit, _, stderr) = PipelineProcess.Run("detokenize", "--ids", "a,b");
        Assert.Equal(2, exit);
        Assert.Contains("--ids", stderr);
        Assert.DoesNotContain("--prompt-ids", stderr);
    }

    [Fact]
    public void GenerateOutOfVocabularyIdNamesPromptIds()
    {
        var (exit, _, stderr) = PipelineProcess.Run("generate", "--prompt-ids", "999999");
        Assert.NotEqual(0, exit);
        Assert.Contains("--prompt-ids", stderr);
        Assert.Contains("999999", stderr);
    }

    [Fact]
    public void SingleDashOptionIsRefusedNotTakenAsTheModel()
    {
        var (exit, _, stderr) = PipelineProcess.Run("generate", "-prompt", "hi");
        Assert.Equal(2, exit);
        Assert.Contains("-prompt", stderr);
        Assert.Contains("--prompt", stderr);
        Assert.DoesNotContain("not found", stderr);
    }

    [Fact]
    public void CudaWithoutCudaPointsAtLibtorchAndTheGpuScripts()
    {
        var (exit, _, stderr) = PipelineProcess.Run("generate", "--device", "cuda", "--prompt-ids", "1,2", "--max-tokens", "1");
        if (exit == 0) return;   // a machine with CUDA: nothing to explain
        Assert.Equal(1, exit);
        Assert.Contains("--libtorch", stderr);
        Assert.Contains("scripts/gpu", stderr);
    }

    [Fact]
    public void QueuePublishWithNothingListeningSaysHowToReachAServer()
    {
        var free = new TcpListener(IPAddress.Loopback, 0);
        free.Start();
        int port = ((IPEndPoint)free.LocalEndpoint).Port;
        free.Stop();
        var (exit, _, stderr) = PipelineProcess.Run("queue", "publish", "--prompt", "hi", "--queue", $"http://127.0.0.1:{port}", "--connect-timeout", "10");
        Assert.Equal(1, exit);
        Assert.Contains("--queue http://HOST:PORT", stderr);
        Assert.Contains("pipeline serve", stderr);
    }
}
