using System.Text.Json;
using Pipeline.Models.ChatTemplates;

namespace Pipeline.Host.Http;

/// <summary>vLLM's /tokenize and /detokenize.</summary>
public static class TokenizeEndpoints
{
    public static async Task Tokenize(HttpContext http, ServerContext server, JsonFields f)
    {
        server.CheckModel(f.String("model"));
        var tok = server.Model.Tokenizer ?? throw ApiError.BadRequest("this model has no tokenizer (--skip-tokenizer-init or none in the model directory)");
        int[] ids;
        if (f.Has("messages"))
        {
            if (server.Chat == null) throw ApiError.BadRequest(server.ChatTemplateError ?? "this model has no chat template", "messages");
            var m = f.Get("messages")!.Value;
            if (m.ValueKind != JsonValueKind.Array) throw ApiError.BadRequest("messages must be a list", "messages");
            string rendered;
            try { rendered = server.Chat.Render(ChatTemplateContext.Nodes(m), addGenerationPrompt: f.Bool("add_generation_prompt") ?? true); }
            catch (TemplateException e) { throw ApiError.BadRequest($"chat template error: {e.Message}", "messages"); }
            ids = server.Chat.Tokenize(rendered);
        }
        else
        {
            var prompt = f.String("prompt") ?? throw ApiError.BadRequest("prompt (or messages) is required", "prompt");
            ids = tok.Encode(prompt, f.Bool("add_special_tokens") ?? true);
        }
        await Json.WriteAsync(http.Response, w =>
        {
            w.WriteNumber("count", ids.Length);
            w.WriteNumber("max_model_len", server.Model.MaxModelLen);
            w.WriteStartArray("tokens"); foreach (var i in ids) w.WriteNumberValue(i); w.WriteEndArray();
        });
    }

    public static async Task Detokenize(HttpContext http, ServerContext server, JsonFields f)
    {
        server.CheckModel(f.String("model"));
        var tok = server.Model.Tokenizer ?? throw ApiError.BadRequest("this model has no tokenizer (--skip-tokenizer-init or none in the model directory)");
        var ids = f.IntArray("tokens") ?? throw ApiError.BadRequest("tokens is required", "tokens");
        foreach (var id in ids)
            if (id < 0 || id >= tok.VocabSize) throw ApiError.BadRequest($"token id {id} is not in the vocabulary (size {tok.VocabSize})", "tokens");
        var text = tok.Decode(ids);
        await Json.WriteAsync(http.Response, w => w.WriteString("prompt", text));
    }
}
