using System.ClientModel;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using OpenAI;
using OpenAI.Chat;
using Pipeline.Actors.Chat;
using Pipeline.Actors.Engine;
using Pipeline.Host.Http;
using Pipeline.Host.Protocol;
using Pipeline.Streams;

namespace Pipeline.Host.Tests.ToolCalling;

/// <summary>
/// The HTTP server in this process (the same routes as `pipeline serve`) over <see cref="ScriptedCausalLM"/>, with the
/// Qwen2.5 tokenizer and chat template, --enable-auto-tool-choice --tool-call-parser hermes --reasoning-parser qwen3.
/// </summary>
public sealed class ScriptedChatServer : IAsyncLifetime
{
    public const string ModelName = "scripted";
    const int Eos = 151645;   // <|im_end|>
    ActorSystem? _system;
    ModelContext? _model;
    WebApplication? _app;

    public ScriptedCausalLM Model { get; private set; } = null!;
    public ServerContext Server { get; private set; } = null!;
    public string BaseUrl { get; private set; } = "";

    public ChatClient Chat() => new(ModelName, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(BaseUrl + "/v1") });

    /// <summary>The next requests are answered by the random-weight model itself.</summary>
    public void RandomAnswers() => Model.Answer(null);

    /// <summary>Makes the next request's answer exactly this text.</summary>
    public void Answer(string text) => Model.Answer(_model!.Tokenizer!.Encode(text, addSpecialTokens: false).ToArray());

    public async Task InitializeAsync()
    {
        var dir = Directory.CreateTempSubdirectory("scripted").FullName;
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(PipelineProcess.Fixture("llama"), "config.json")))!.AsObject();
        cfg["vocab_size"] = 151665;
        cfg["eos_token_id"] = Eos;
        cfg["max_position_embeddings"] = 512;
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        var tok = Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizers", "qwen2_5");
        foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" }) File.Copy(Path.Combine(tok, f), Path.Combine(dir, f));

        _system = ActorSystem.Create("scripted-" + Guid.NewGuid().ToString("N")[..8], ConfigurationFactory.ParseString(Pipeline.Actors.Stages.Dispatchers.Hocon));
        var args = new EngineArgs
        {
            Model = dir, LoadFormat = "dummy", Dtype = "float32", Device = "cpu", MaxModelLen = 512, EnablePrefixCaching = false,
            NumGpuBlocksOverride = 96, MaxNumSeqs = 4, MaxNumBatchedTokens = 1024,
        };
        var loaded = ModelContext.Load(args);
        Model = new ScriptedCausalLM(loaded.Model, Eos);
        _model = new ModelContext
        {
            ModelDir = loaded.ModelDir, Model = Model, Tokenizer = loaded.Tokenizer, GenerationConfig = loaded.GenerationConfig,
            UseGenerationConfig = false, LoadTime = loaded.LoadTime, MaxModelLen = loaded.MaxModelLen, EosTokenIds = loaded.EosTokenIds,
        };
        var engine = PipelineEngine.Start(_system, [new ReplicaSpec(_model, args)]);
        Server = new ServerContext
        {
            Engine = engine, ServedModelName = ModelName, Model = _model, Chat = new ChatPromptRenderer(_model.Tokenizer!, null),
            Metrics = new ServingMetrics(ModelName), ChatParsing = new ChatParsingOptions(true, "hermes", "qwen3"),
        };
        var builder = WebApplication.CreateSlimBuilder();
        BaseUrl = $"http://127.0.0.1:{FreePort()}";
        builder.WebHost.UseUrls(BaseUrl);
        _app = builder.Build();
        ApiServer.UseApiConventions(_app, null);
        ApiServer.Map(_app, () => Server);
        await _app.StartAsync();
    }

    static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public async Task DisposeAsync()
    {
        if (_app != null) await _app.StopAsync();
        if (Server != null) await Server.Engine.ShutdownAsync(TimeSpan.FromSeconds(5));
        if (_system != null) await _system.Terminate();
        _model?.Dispose();
    }
}
