using Pipeline.Host.Cli;
using Pipeline.Host.Commands;

namespace Pipeline.Host.Tests.Cli;

/// <summary>A command whose last positional is "FILE..." takes several; one with a fixed count still refuses extras.</summary>
public class VariadicPositionalTests
{
    [Fact]
    public void Transcribe_takes_several_files_in_order()
    {
        var a = ParsedArgs.Parse(TranscribeCommand.Spec, ["a.wav", "--language", "en", "b.flac", "c.mp3"]);
        Assert.Equal(["a.wav", "b.flac", "c.mp3"], a.Positionals);
    }

    [Fact]
    public void A_command_with_one_positional_still_names_the_extra_argument()
    {
        var e = Assert.Throws<CliException>(() => ParsedArgs.Parse(BenchThroughputCommand.Spec, ["model-a", "model-b"]));
        Assert.Equal("unexpected argument 'model-b' for 'bench-throughput'", e.Message);
    }
}
