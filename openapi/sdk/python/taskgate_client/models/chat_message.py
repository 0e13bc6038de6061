from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.chat_role import ChatRole
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.content_part import ContentPart


T = TypeVar("T", bound="ChatMessage")


@_attrs_define
class ChatMessage:
    """One turn of the conversation.

    Attributes:
        content (list[ContentPart] | str): A message's text, or its parts (text parts only).
        role (ChatRole): Who speaks; `developer` is OpenAI's newer name for `system` and renders as one.
        name (None | str | Unset): A participant's name: accepted, not rendered (templates take each turn's role and
            content).
    """

    content: list[ContentPart] | str
    role: ChatRole
    name: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        content: list[dict[str, Any]] | str
        if isinstance(self.content, list):
            content = []
            for componentsschemas_message_content_type_1_item_data in self.content:
                componentsschemas_message_content_type_1_item = (
                    componentsschemas_message_content_type_1_item_data.to_dict()
                )
                content.append(componentsschemas_message_content_type_1_item)

        else:
            content = self.content

        role = self.role.value

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "content": content,
                "role": role,
            }
        )
        if name is not UNSET:
            field_dict["name"] = name

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.content_part import ContentPart

        d = dict(src_dict)

        def _parse_content(data: object) -> list[ContentPart] | str:
            try:
                if not isinstance(data, list):
                    raise TypeError()
                componentsschemas_message_content_type_1 = []
                _componentsschemas_message_content_type_1 = data
                for (
                    componentsschemas_message_content_type_1_item_data
                ) in _componentsschemas_message_content_type_1:
                    componentsschemas_message_content_type_1_item = (
                        ContentPart.from_dict(
                            componentsschemas_message_content_type_1_item_data
                        )
                    )

                    componentsschemas_message_content_type_1.append(
                        componentsschemas_message_content_type_1_item
                    )

                return componentsschemas_message_content_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[ContentPart] | str, data)

        content = _parse_content(d.pop("content"))

        role = ChatRole(d.pop("role"))

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        chat_message = cls(
            content=content,
            role=role,
            name=name,
        )

        return chat_message
