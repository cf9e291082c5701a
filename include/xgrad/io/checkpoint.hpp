// Checkpoints: everything needed to resume training as if it had never stopped — the model's state, the
// optimizer's state, the epoch, the learning-rate schedule's position and the random generators — in one
// safetensors file ("model.<name>", "optimizer.<name>" tensors; the rest as metadata), written atomically.
#pragma once

#include <limits>
#include <map>
#include <sstream>
#include <string>

#include "../core/state_dict.hpp"
#include "safetensors.hpp"

namespace xgrad::io
{
    struct CheckpointInfo
    {
        std::size_t epoch = 0;
        std::size_t scheduler_epoch = 0;
        std::map<std::string, std::string> generators;   // name -> generator state as text
    };

    // `model` and `optimizer` are anything with state_dict() (an nn::Module and an optim optimizer).
    template <class Model, class Optim>
    void save_checkpoint(const std::string& path, const Model& model, const Optim& optimizer,
                         const CheckpointInfo& info)
    {
        using T = typename Model::value_type;
        StateDict<T> state;
        for (const auto& [name, value] : model.state_dict())
            state.insert("model." + name, value);
        for (const auto& [name, value] : optimizer.state_dict())
            state.insert("optimizer." + name, value);
        std::map<std::string, std::string> metadata{{"format", "xgrad-checkpoint"},
                                                    {"epoch", std::to_string(info.epoch)},
                                                    {"scheduler_epoch", std::to_string(info.scheduler_epoch)}};
        for (const auto& [name, text] : info.generators)
            metadata["generator." + name] = text;
        save_safetensors(state, path, metadata);
    }

    namespace detail
    {
        // A count in the metadata, as save_checkpoint writes it: decimal digits only (no sign, space or
        // suffix), within std::size_t.
        inline std::size_t metadata_count(const std::map<std::string, std::string>& metadata, const std::string& key,
                                          const std::string& path)
        {
            const auto found = metadata.find(key);
            if (found == metadata.end())
                throw io_error("load_checkpoint: " + path + ": no '" + key + "' metadata");
            const std::string& text = found->second;
            auto malformed = [&] {
                return io_error("load_checkpoint: " + path + ": '" + key + "' metadata must be a count, got '" + text + "'");
            };
            if (text.empty())
                throw malformed();
            std::size_t count = 0;
            for (const char c : text)
            {
                if (c < '0' || c > '9')
                    throw malformed();
                const auto digit = static_cast<std::size_t>(c - '0');
                if (count > (std::numeric_limits<std::size_t>::max() - digit) / 10)
                    throw malformed();
                count = count * 10 + digit;
            }
            return count;
        }
    }

    // Restores model and optimizer in place and returns the rest.  All or nothing: the file is read and its
    // metadata checked first, and if the optimizer rejects its state, the model gets its own state back, so a
    // bad file (io_error, value_error or shape_error) leaves both as they were.
    template <class Model, class Optim>
    CheckpointInfo load_checkpoint(const std::string& path, Model& model, Optim& optimizer)
    {
        using T = typename Model::value_type;
        std::map<std::string, std::string> metadata;
        const StateDict<T> state = load_safetensors<T>(path, &metadata);
        const auto format = metadata.find("format");
        if (format == metadata.end() || format->second != "xgrad-checkpoint")
            throw io_error("load_checkpoint: " + path + " is not an xgrad checkpoint");
        StateDict<T> model_state, optimizer_state;
        for (const auto& [name, value] : state)
        {
            if (name.rfind("model.", 0) == 0)
                model_state.insert(name.substr(6), value);
            else if (name.rfind("optimizer.", 0) == 0)
                optimizer_state.insert(name.substr(10), value);
            else
                throw io_error("load_checkpoint: " + path + ": unexpected entry '" + name + "'");
        }
        CheckpointInfo info;
        info.epoch = detail::metadata_count(metadata, "epoch", path);
        info.scheduler_epoch = detail::metadata_count(metadata, "scheduler_epoch", path);
        for (const auto& [key, text] : metadata)
            if (key.rfind("generator.", 0) == 0)
                info.generators[key.substr(10)] = text;

        // Each load_state_dict checks everything before it changes anything; the model's copy covers the
        // optimizer's refusal after the model has loaded.
        StateDict<T> previous_model_state = model.state_dict();
        model.load_state_dict(model_state);
        try
        {
            optimizer.load_state_dict(optimizer_state);
        }
        catch (...)
        {
            model.load_state_dict(previous_model_state);
            throw;
        }
        return info;
    }

    // A generator's full state as text, and back (for CheckpointInfo::generators).
    template <class Rng>
    std::string generator_state(const Rng& rng)
    {
        std::ostringstream out;
        out << rng;
        return out.str();
    }

    template <class Rng>
    void restore_generator(Rng& rng, const std::string& text)
    {
        std::istringstream in(text);
        in >> rng;
        if (!in)
            throw io_error("restore_generator: malformed generator state");
    }
}
