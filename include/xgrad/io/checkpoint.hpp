// Checkpoints: everything needed to resume training as if it had never stopped — the model's state, the
// optimizer's state, the epoch, the learning-rate schedule's position and the random generators — in one
// safetensors file ("model.<name>", "optimizer.<name>" tensors; the rest as metadata), written atomically.
#pragma once

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

    // Restores model and optimizer in place and returns the rest.
    template <class Model, class Optim>
    CheckpointInfo load_checkpoint(const std::string& path, Model& model, Optim& optimizer)
    {
        using T = typename Model::value_type;
        std::map<std::string, std::string> metadata;
        const StateDict<T> state = load_safetensors<T>(path, &metadata);
        if (metadata["format"] != "xgrad-checkpoint")
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
        model.load_state_dict(model_state);
        optimizer.load_state_dict(optimizer_state);
        CheckpointInfo info;
        try
        {
            info.epoch = std::stoul(metadata.at("epoch"));
            info.scheduler_epoch = std::stoul(metadata.at("scheduler_epoch"));
        }
        catch (const std::exception&)
        {
            throw io_error("load_checkpoint: " + path + ": missing or malformed epoch metadata");
        }
        for (const auto& [key, text] : metadata)
            if (key.rfind("generator.", 0) == 0)
                info.generators[key.substr(10)] = text;
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
