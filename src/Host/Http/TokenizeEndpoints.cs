using Pipeline.Host.Protocol;
using Pipeline.Models.ChatTemplates;

namespace Pipeline.Host.Http;

/// <summary>vLLM's /tokenize and /detokenize.</summary>
public static class TokenizeEndpoints
{
    public static async Task Tokenize(HttpContext http, ServerContext server, TokenizeRequest req)
    {
        server.CheckModel(req.Model);
        var tok = server.Model.Tokenizer ?? throw ApiError.BadRequest("this model has no tokenizer (--skip-tokenizer-init or none in the model directory)");
        int[] ids;
        if (req.Messages != null)
        {
            if (server.Chat == null) throw ApiError.BadRequest(server.ChatTemplateError ?? "this model has no chat template", "messages");
            string rendered;
            try { rendered = server.Chat.Render(ChatMessages.ForTemplate(req.Messages), addGenerationPrompt: req.AddGenerationPrompt ?? true); }
            catch (TemplateException e) { throw ApiError.BadRequest($"chat template error: {e.Message}", "messages"); }
            ids = server.Chat.Tokenize(rendered);
        }
        else
        {
            ids = tok.Encode(req.Prompt!, req.AddSpecialTokens ?? true);
        }
        await Json.WriteAsync(http.Response, new TokenizeResponse(ids.Length, server.Model.MaxModelLen, ids), ProtocolJson.Default.TokenizeResponse);
    }

    public static async Task Detokenize(HttpContext http, ServerContext server, DetokenizeRequest req)
    {
        server.CheckModel(req.Model);
        var tok = server.Model.Tokenizer ?? throw ApiError.BadRequest("this model has no tokenizer (--skip-tokenizer-init or none in the model directory)");
        var ids = req.Tokens!;
        foreach (var id in ids)
            if (id < 0 || id >= tok.VocabSize) throw ApiError.BadRequest($"token id {id} is not in the vocabulary (size {tok.VocabSize})", "tokens");
        var text = tok.Decode(ids);
        await Json.WriteAsync(http.Response, new DetokenizeResponse(text), ProtocolJson.Default.DetokenizeResponse);
    }
}
