using Pipeline.Host.Cli;
using Pipeline.Host.Commands;

namespace Pipeline.Host.Tests.Lora;

/// <summary>--lora-modules as vLLM takes it: several name=path or JSON values after one flag, and the flag repeated.</summary>
public class LoraCliOptionsTests
{
    [Fact]
    public void Several_values_after_one_flag_the_flag_repeated_and_json_entries()
    {
        var a = ParsedArgs.Parse(ServeCommand.Spec, ["--enable-lora", "--lora-modules", "sql=/a/sql", "chat=/b/chat",
            "--lora-modules", "{\"name\": \"tools\", \"path\": \"/c/tools\", \"base_model_name\": \"m\"}", "model-dir", "--max-loras", "4"]);
        var modules = LoraCliOptions.Modules(a);
        Assert.Equal([new("sql", "/a/sql", null), new("chat", "/b/chat", null), new LoraCliOptions.LoRAModulePath("tools", "/c/tools", "m")], modules);
        Assert.Equal(["model-dir"], a.Positionals);
        var args = LoraCliOptions.Apply(a, CommonOptions.ToEngineArgs(a, "model-dir"));
        Assert.True(args.EnableLora);
        Assert.Equal(4, args.MaxLoras);
        Assert.Equal(16, args.MaxLoraRank);
    }

    [Theory]
    [InlineData("noequals", "name=path or JSON")]
    [InlineData("{\"name\": \"x\"}", "need \"name\" and \"path\"")]
    [InlineData("{\"name\": \"x\", \"path\": \"/p\", \"rank\": 8}", "unknown key \"rank\"")]
    [InlineData("{bad json", "invalid JSON")]
    public void Bad_entries_are_named(string value, string message)
    {
        var e = Assert.Throws<CliException>(() => LoraCliOptions.Parse(value));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Modules_need_enable_lora_and_names_are_unique()
    {
        var a = ParsedArgs.Parse(ServeCommand.Spec, ["--lora-modules", "x=/p"]);
        Assert.Contains("--enable-lora", Assert.Throws<CliException>(() => LoraCliOptions.Apply(a, CommonOptions.ToEngineArgs(a, "m"))).Message);
        var b = ParsedArgs.Parse(ServeCommand.Spec, ["--enable-lora", "--lora-modules", "x=/p", "x=/q"]);
        Assert.Contains("'x' is given twice", Assert.Throws<CliException>(() => LoraCliOptions.Modules(b)).Message);
    }
}
